"""Output folders that hold the files of one complete run, never a mix of two.

Three mechanisms, usable apart:

- :func:`atomic_write` writes a file under a temporary name beside it and renames it
  into place, so a file is either absent, the old one, or complete;
- :class:`RunFolder` holds a lock on the folder for the length of a run, refuses a
  folder holding another run's files (unless told to overwrite them), marks the folder
  incomplete while the run writes, and writes a manifest last;
- :func:`check_run_folder` reads that manifest back and checks every file against it.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import os
import secrets
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import joblib

from sklasd import _version
from sklasd.exceptions import OutputFolderError

__all__ = ["MANIFEST_NAME", "RunFolder", "atomic_write", "check_run_folder"]

#: Name of the manifest that marks a complete run.
MANIFEST_NAME = "sklasd_run.json"
#: Name of the marker of a run that is writing, failed or was interrupted.
_INCOMPLETE_NAME = "RUN_INCOMPLETE.txt"
#: Name of the lock file of a run folder (it stays; the lock is released, not the file).
_LOCK_NAME = ".sklasd.lock"
#: Name of the folder a previous run's files wait in while an overwriting run writes.
_PREVIOUS_NAME = ".sklasd_previous_run"
_BOOKKEEPING = {MANIFEST_NAME, _INCOMPLETE_NAME, _LOCK_NAME, _PREVIOUS_NAME}


@contextlib.contextmanager
def atomic_write(path: str | os.PathLike, mode: str = "w", **kwargs: Any) -> Iterator[IO]:
    """Open ``path`` for writing through a temporary file that is renamed into place.

    The data go to a new hidden file in the same folder (``.<name>.<random>.tmp``); when
    the ``with`` block ends without an exception it is flushed to disk and renamed onto
    ``path`` (:func:`os.replace`, atomic on POSIX and Windows). An exception, or a
    process killed midway, leaves ``path`` as it was: never half written.

    Parameters
    ----------
    path : str or path-like
        The file to write; its folder must exist.
    mode : {"w", "wb"}, default="w"
        Text or binary.
    **kwargs
        Passed to :func:`open` (``encoding``, ``newline``...).

    Yields
    ------
    handle : file object
        The open temporary file.

    See Also
    --------
    RunFolder : A run's output folder, whose files are written this way.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklasd.utils import atomic_write
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "scores.csv"
    >>> with atomic_write(path, newline="") as handle:
    ...     _ = handle.write("a.wav,0.5\\n")
    >>> path.read_text()
    'a.wav,0.5\\n'
    >>> try:
    ...     with atomic_write(path) as handle:
    ...         _ = handle.write("half a fi")
    ...         raise KeyboardInterrupt
    ... except KeyboardInterrupt:
    ...     pass
    >>> path.read_text(), sorted(p.name for p in path.parent.iterdir())
    ('a.wav,0.5\\n', ['scores.csv'])
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb', got {mode!r}.")
    path = Path(path)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        with open(temporary, mode.replace("w", "x"), **kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).astimezone().isoformat(timespec="seconds")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _run_files(folder: Path) -> list[Path]:
    """The files of a run in ``folder`` (recursively), bookkeeping left out, sorted."""
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file() and path.relative_to(folder).parts[0] not in _BOOKKEEPING
    )


def _lock(fd: int) -> bool:
    """Take an exclusive lock on the open file ``fd`` without waiting; False when held.

    The operating system releases it when the process ends, however it ends.
    """
    try:
        import fcntl
    except ImportError:  # Windows
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _describe(text: str) -> str:
    """'started <time> by process <pid>' from a lock file's or marker's first lines."""
    fields = dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)
    if "started" not in fields:
        return ""
    return f" (started {fields['started']} by process {fields.get('pid', '?')})"


class RunFolder:
    """The output folder of one run: a lock, no mixing with other runs, a manifest last.

    Entering the ``with`` block (before any long computation, so that a bad folder fails
    at once):

    1. creates the folder when missing;
    2. locks it (``.sklasd.lock``, an OS lock released when the process ends, even when
       killed): a second run into the same folder fails at once with an
       :class:`~sklasd.exceptions.OutputFolderError`;
    3. refuses a folder that holds a previous run's files (complete or not) unless
       ``overwrite=True``, which moves them aside (into ``.sklasd_previous_run``); refuses
       always a non-empty folder that no sklasd run wrote, so nothing of the user's is
       ever deleted;
    4. writes ``RUN_INCOMPLETE.txt``, which stays until the run completes.

    Leaving the block without an exception writes the manifest ``sklasd_run.json`` (the
    command, the options, the sklasd version, start and end times, and the SHA-256 and
    size of every file in the folder), deletes the previous run's files, then removes
    ``RUN_INCOMPLETE.txt``. Leaving it with an exception (:class:`KeyboardInterrupt`
    included), or failing to write the manifest, deletes this run's files and puts the
    previous run's back, or, when there was none, records the error in
    ``RUN_INCOMPLETE.txt``. A process killed outright leaves
    ``RUN_INCOMPLETE.txt`` behind. So the folder holds either one complete run (a manifest
    and no ``RUN_INCOMPLETE.txt``: :func:`check_run_folder`) or says that it does not.

    Write the run's files with :func:`atomic_write` (or :meth:`write_text`,
    :meth:`dump_joblib`), so that none is ever half written.

    Parameters
    ----------
    path : str or path-like
        The output folder.
    overwrite : bool, default=False
        Replace a previous run's files (complete or not) with this run's.
    command : sequence of str, default=None
        The command to record in the manifest; None records :data:`sys.argv`.
    options : mapping, default=None
        The run's options, recorded in the manifest (values that JSON cannot hold are
        recorded as their ``str``).

    Attributes
    ----------
    path : pathlib.Path
        The output folder.

    See Also
    --------
    check_run_folder : Check a folder against its manifest.
    atomic_write : Write one file atomically.

    Examples
    --------
    >>> import tempfile
    >>> from sklasd.utils import RunFolder, check_run_folder
    >>> folder = tempfile.mkdtemp()
    >>> with RunFolder(folder, options={"scorer": "knn"}) as run:
    ...     _ = run.write_text("scores.csv", "a.wav,0.5\\n")
    >>> manifest = check_run_folder(folder)
    >>> manifest["options"], list(manifest["files"])
    ({'scorer': 'knn'}, ['scores.csv'])

    A run that fails leaves the previous run as it was:

    >>> try:
    ...     with RunFolder(folder, overwrite=True) as run:
    ...         _ = run.write_text("other.csv", "b.wav,1.5\\n")
    ...         raise KeyboardInterrupt
    ... except KeyboardInterrupt:
    ...     pass
    >>> list(check_run_folder(folder)["files"])
    ['scores.csv']
    """

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        overwrite: bool = False,
        command: Sequence[str] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.path = Path(path)
        self.overwrite = overwrite
        self.command = command
        self.options = options
        self._lock_fd: int | None = None

    def __enter__(self) -> RunFolder:
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path / _LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as error:
            raise OutputFolderError(
                f"Cannot write into the output folder {str(self.path)!r}: "
                f"{error.strerror or error}. Choose a folder you can write to."
            ) from error
        if not _lock(fd):
            holder = os.read(fd, 4096).decode(errors="replace")
            os.close(fd)
            raise OutputFolderError(
                f"Another run is writing into {str(self.path)!r}{_describe(holder)}; wait "
                "for it to finish or choose another output folder."
            )
        self._lock_fd = fd
        self._started = _now()
        about = f"started: {self._started}\npid: {os.getpid()}\n"
        try:
            os.ftruncate(fd, 0)
            os.write(fd, about.encode())
            self._set_aside()
            self._write_marker(
                "A sklasd run is writing into this folder, or was interrupted: its files "
                "are not a complete run.\n" + about + f"command: {self._command()}\n"
            )
        except BaseException:
            self._unlock()
            raise
        return self

    def __exit__(self, exc_type, exc, traceback) -> None:
        try:
            if exc_type is not None:
                self._fail(exc_type, exc)
                return
            try:
                self._write_manifest()
            except BaseException as error:
                self._fail(type(error), error)
                raise
            _remove(self.path / _PREVIOUS_NAME)
            os.unlink(self.path / _INCOMPLETE_NAME)
        finally:
            self._unlock()

    def write_text(self, name: str, text: str) -> Path:
        """Write ``text`` (UTF-8) to the file ``name`` of the folder, atomically.

        Parameters
        ----------
        name : str
            File name, relative to the folder.
        text : str
            The content.

        Returns
        -------
        path : pathlib.Path
            The written file.

        Examples
        --------
        >>> import tempfile
        >>> from sklasd.utils import RunFolder
        >>> with RunFolder(tempfile.mkdtemp()) as run:
        ...     path = run.write_text("notes.md", "# Run\\n")
        >>> path.read_text()
        '# Run\\n'
        """
        path = self.path / name
        with atomic_write(path, encoding="utf-8", newline="") as handle:
            handle.write(text)
        return path

    def dump_joblib(self, name: str, obj: Any) -> Path:
        """Save ``obj`` with :func:`joblib.dump` to the file ``name`` of the folder, atomically.

        Parameters
        ----------
        name : str
            File name, relative to the folder (conventionally ``*.joblib``).
        obj : object
            What to save, e.g. a fitted pipeline.

        Returns
        -------
        path : pathlib.Path
            The written file; load it with :func:`sklasd.utils.load_model`.

        Examples
        --------
        >>> import tempfile
        >>> from sklasd.utils import RunFolder, load_model
        >>> with RunFolder(tempfile.mkdtemp()) as run:
        ...     path = run.dump_joblib("numbers.joblib", [1, 2, 3])
        >>> load_model(path)
        [1, 2, 3]
        """
        path = self.path / name
        with atomic_write(path, "wb") as handle:
            joblib.dump(obj, handle)
        return path

    # -- internals -----------------------------------------------------------------------

    def _command(self) -> list[str]:
        return list(sys.argv if self.command is None else self.command)

    def _write_marker(self, text: str) -> None:
        with atomic_write(self.path / _INCOMPLETE_NAME, encoding="utf-8") as handle:
            handle.write(text)

    def _entries(self, *, keep: set[str]) -> list[Path]:
        return sorted(entry for entry in self.path.iterdir() if entry.name not in keep)

    def _set_aside(self) -> None:
        """Refuse a folder of other files; move a previous run's aside when overwriting."""
        entries = self._entries(keep={_LOCK_NAME})
        if not entries:
            return
        names = {entry.name for entry in entries}
        where = repr(str(self.path))
        if not names & {MANIFEST_NAME, _INCOMPLETE_NAME, _PREVIOUS_NAME}:
            shown = ", ".join(repr(name) for name in sorted(names)[:3])
            raise OutputFolderError(
                f"The output folder {where} holds files that no sklasd run wrote ({shown}"
                f"{', ...' if len(names) > 3 else ''}); choose an empty or new folder. (sklasd "
                "only replaces folders holding its own runs, recognised by "
                f"{MANIFEST_NAME} or {_INCOMPLETE_NAME}.)"
            )
        if not self.overwrite:
            if names & {_INCOMPLETE_NAME, _PREVIOUS_NAME}:
                marker = self.path / _INCOMPLETE_NAME
                text = marker.read_text(encoding="utf-8") if marker.is_file() else ""
                state = f"the files of an incomplete run{_describe(text)}"
            else:
                manifest = json.loads((self.path / MANIFEST_NAME).read_text(encoding="utf-8"))
                state = (
                    f"the results of a complete run (started {manifest.get('started')}, "
                    f"command {' '.join(manifest.get('command', []))!r})"
                )
            raise OutputFolderError(
                f"The output folder {where} holds {state}. Pass --overwrite "
                "(overwrite=True) to replace them, or choose another folder."
            )
        previous = self.path / _PREVIOUS_NAME
        if previous.exists():  # left by an overwriting run that was killed: no complete run
            _remove(previous)
            entries = self._entries(keep={_LOCK_NAME})
        # Until the new marker is written, the folder holding _PREVIOUS_NAME says that
        # it is incomplete.
        previous.mkdir()
        for entry in entries:
            os.replace(entry, previous / entry.name)

    def _fail(self, exc_type: type, exc: BaseException) -> None:
        """Put the previous run back, or record the error in the marker."""
        if (self.path / _PREVIOUS_NAME).is_dir():
            self._restore()
            return
        with contextlib.suppress(OSError):  # e.g. a full disk: the marker stays as it is
            text = (self.path / _INCOMPLETE_NAME).read_text(encoding="utf-8")
            self._write_marker(f"{text}failed: {_now()}: {exc_type.__name__}: {exc}\n")

    def _restore(self) -> None:
        """Delete this run's files and put the previous run's back."""
        previous = self.path / _PREVIOUS_NAME
        for entry in self._entries(keep={_LOCK_NAME, _INCOMPLETE_NAME, _PREVIOUS_NAME}):
            _remove(entry)
        had_marker = (previous / _INCOMPLETE_NAME).exists()
        for entry in sorted(previous.iterdir(), key=lambda entry: entry.name == MANIFEST_NAME):
            os.replace(entry, self.path / entry.name)  # the manifest last
        previous.rmdir()
        if not had_marker:
            os.unlink(self.path / _INCOMPLETE_NAME)

    def _write_manifest(self) -> None:
        files = {
            path.relative_to(self.path).as_posix(): {
                "sha256": _sha256(path),
                "size": path.stat().st_size,
            }
            for path in _run_files(self.path)
        }
        manifest = {
            "sklasd_version": _version.__version__,
            "command": self._command(),
            "options": dict(self.options or {}),
            "started": self._started,
            "finished": _now(),
            "files": files,
        }
        self.write_text(MANIFEST_NAME, json.dumps(manifest, indent=2, default=str) + "\n")

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None


def _remove(path: Path) -> None:
    """Delete a file, a link or a folder tree; nothing when absent."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def check_run_folder(path: str | os.PathLike) -> dict[str, Any]:
    """Check that a folder holds one complete run whose files are unchanged.

    Parameters
    ----------
    path : str or path-like
        An output folder written through :class:`RunFolder` (e.g. by ``python -m
        sklasd``).

    Returns
    -------
    manifest : dict
        The run's manifest: ``sklasd_version``, ``command``, ``options``, ``started``,
        ``finished`` and ``files`` (relative path to ``sha256`` and ``size``).

    Raises
    ------
    OutputFolderError
        If the folder has no manifest, is marked incomplete, or a file is missing,
        changed, or not in the manifest (the message names it).

    See Also
    --------
    RunFolder : Writes such folders.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sklasd.utils import RunFolder, check_run_folder
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> with RunFolder(folder) as run:
    ...     _ = run.write_text("scores.csv", "a.wav,0.5\\n")
    >>> _ = (folder / "scores.csv").write_text("a.wav,0.9\\n")
    >>> check_run_folder(folder)
    Traceback (most recent call last):
        ...
    sklasd.exceptions.OutputFolderError: ...'scores.csv' differs from the manifest...
    """
    folder = Path(path)
    where = repr(str(folder))
    if (folder / _INCOMPLETE_NAME).exists() or (folder / _PREVIOUS_NAME).exists():
        raise OutputFolderError(
            f"{where} holds an incomplete run (see its {_INCOMPLETE_NAME}); rerun with "
            "--overwrite."
        )
    try:
        manifest = json.loads((folder / MANIFEST_NAME).read_text(encoding="utf-8"))
        listed = manifest["files"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise OutputFolderError(
            f"{where} holds no readable run manifest ({MANIFEST_NAME}): {error}."
        ) from error
    found = {file.relative_to(folder).as_posix(): file for file in _run_files(folder)}
    for name in sorted(set(listed) | set(found)):
        if name not in found:
            problem = "is listed in the manifest but missing"
        elif name not in listed:
            problem = "is not in the manifest (it was added after the run)"
        elif _sha256(found[name]) != listed[name].get("sha256"):
            problem = "differs from the manifest (it was changed after the run)"
        else:
            continue
        raise OutputFolderError(f"In the run folder {where}, {name!r} {problem}.")
    return manifest
