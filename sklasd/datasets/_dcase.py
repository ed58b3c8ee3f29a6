"""DCASE Task 2 and MIMII folders: clip metadata read from file and folder names, and clips
written in the DCASE layout."""

from __future__ import annotations

import csv
import functools
import os
import re
import warnings
from collections.abc import Iterable, Iterator
from numbers import Integral
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf
from sklearn.utils._param_validation import Interval, StrOptions, validate_params

from sklasd.exceptions import DatasetError
from sklasd.utils import atomic_write

__all__ = ["load_dcase", "write_dcase_folder"]

LAYOUTS = ("auto", "dcase2020", "dcase2021+", "mimii")
SPLITS = ("train", "test", "unsplit", "supplemental")

# folder name -> (split, domain implied by the folder); DCASE 2021 ships source_test/target_test
_SPLIT_DIRS = {
    "train": ("train", None),
    "test": ("test", None),
    "source_test": ("test", "source"),
    "target_test": ("test", "target"),
}
# DCASE 2025's <machine_type>/supplemental/ folder: clean machine sounds and noise-only clips
_SUPPLEMENTAL_DIR = "supplemental"
# name token -> what a supplemental clip holds
_SUPPLEMENTAL_CONTENT = {"clean": "machine", "machine": "machine", "noise": "noise"}
_LABELS = {"normal": 0, "anomaly": 1}
_MIMII_LABEL_DIRS = {"normal": 0, "abnormal": 1}

_NAME_PATTERNS = {
    # normal_id_00_00000000, anomaly_id_00_00000000, id_01_00000000 (2020 evaluation test set)
    "dcase2020": re.compile(r"(?:(?P<label>normal|anomaly)_)?id_(?P<section>\d+)_\d+", re.ASCII),
    # section_00_source_train_normal_0000[_<attributes>], section_03_source_test_0000 (2021
    # evaluation test set), section_00_0000 (2022+ evaluation test set)
    "dcase2021+": re.compile(
        r"section_(?P<section>\d+)_"
        r"(?:(?P<domain>source|target)_(?P<split>train|test)_(?:(?P<label>normal|anomaly)_)?)?"
        r"\d+(?:_(?P<attributes>.*))?",
        re.ASCII,
    ),
}
# Every number in a name is ASCII digits (re.ASCII): "\d" alone also matches full-width
# and other Unicode digits, which int() would then read.
_MIMII_NAME = re.compile(r"\d+", re.ASCII)
_MIMII_ID_DIR = re.compile(r"id_(?P<section>\d+)", re.ASCII)
_MIMII_SNR_DIR = re.compile(r"(?P<snr>[-+]?\d+)_dB_.+", re.ASCII)
_KEY = re.compile(r"[A-Za-z][A-Za-z0-9.+-]*")
_ATTRIBUTE_PAIR = re.compile(r"d(?P<n>\d+)p", re.ASCII)
_GROUND_TRUTH_NAME = re.compile(
    r"ground_truth_(?P<machine_type>.+?)_section_(?P<section>\d+)"
    r"(?:_(?P<domain>source|target))?_test\.csv",
    re.ASCII,
)
#: The largest section (machine ID) number accepted; DCASE and MIMII use two digits.
MAX_SECTION = 9999
# Words of the domain, split and label fields: after the clip number, where only
# attributes go, they mean a name whose fields are out of order.
_FIELD_WORDS = {"source", "target", "train", "test", "normal", "anomaly"}


def load_dcase(
    root: str | os.PathLike,
    *,
    machine_types: str | Iterable[str] | None = None,
    splits: str | Iterable[str] | None = None,
    layout: str = "auto",
    ground_truth: str | os.PathLike | None = None,
) -> pd.DataFrame:
    """Read the clip metadata of a DCASE Task 2 or MIMII folder from its names.

    One row per ``.wav`` clip, with the machine type, section, domain, split, label and
    operating-condition attributes that the challenge encodes in file and folder names. No
    audio is opened (empty files would do): the folder tree is walked and names are
    parsed, about 25,000 clips a second on a small CPU.

    Layouts read (``root`` may be the layout's top folder or any folder above it):

    ``"dcase2020"``
        ``<machine_type>/{train,test}/{normal,anomaly}_id_XX_NNNNNNNN.wav``; evaluation
        test clips ``id_XX_NNNNNNNN.wav`` have no label (``<NA>``). The machine ID is the
        section, the domain is ``"source"`` and the attributes are ``""``.
    ``"dcase2021+"`` (DCASE 2021-2026)
        ``<machine_type>/{train,test}/section_XX_{source,target}_{train,test}_``
        ``{normal,anomaly}_NNNN[_<attributes>].wav``, including DCASE 2021's
        ``source_test``/``target_test`` folders and the anonymised evaluation test clips
        ``section_XX_{source,target}_test_NNNN.wav`` (2021: label unknown) and
        ``section_XX_NNNN.wav`` (2022+: label and domain unknown). DCASE 2025 adds
        ``<machine_type>/supplemental/``: clean machine sounds and noise-only recordings
        (see below). DCASE 2026 keeps these names; its clips are two-channel (one
        microphone near the machine, one far from it): choose the microphone when reading
        the audio, e.g. ``LogMel(channel=0)`` (see :func:`load_audio`), or use both as
        feature channels with ``StackFeatures`` of a ``LogMel`` per channel. Which channel
        is the near microphone is written in the dataset's README.
    ``"mimii"``
        raw MIMII: ``<snr>_dB_<machine_type>/<machine_type>/id_XX/{normal,abnormal}/``
        ``NNNNNNNN.wav``. MIMII has no train/test split: every clip gets split
        ``"unsplit"`` (split them with :mod:`sklasd.model_selection`), and an ``snr``
        column holds the signal-to-noise ratio in dB (``<NA>`` when the clips do not sit
        under a ``<snr>_dB_<machine_type>`` folder).

    Only ``.wav`` files (any letter case) inside a split folder (``train``, ``test``,
    ``source_test``, ``target_test``), a DCASE ``supplemental`` folder or a MIMII
    ``id_XX/{normal,abnormal}`` folder are clips; everything else (CSV and text files...)
    is ignored, and so are macOS AppleDouble files ``._*.wav`` (with a warning). Numbers
    in names are ASCII digits; section numbers run from 0 to 9999.

    Supplemental clips (DCASE 2025) get split ``"supplemental"``, so they never mix with
    the training clips: select them with ``splits="supplemental"`` or
    ``frame[frame.split == "supplemental"]``. Their names are read leniently: the
    section from ``section_XX``, the domain from a ``source``/``target`` token where
    there is one, what the clip holds from a ``clean`` or ``machine`` token (clean
    machine sound: ``"machine"``) or a ``noise`` token (``"noise"``), into the column
    ``content``, and the attributes from the tokens after the clip number. Their label
    is ``<NA>``.

    Attributes. The part of a DCASE 2021+ name after the clip number is kept verbatim in
    ``attributes`` (``"noAttribute"`` stays as it is) and serves as attribute-class label.
    It is also read as ``<key>_<value>`` pairs from the left, for as long as the pairs
    parse cleanly (a key starts with a letter and is not repeated): ``car_A1_spd_28V`` gives
    ``attr_car="A1"``, ``attr_spd="28V"``; DCASE 2021's ``strength_1_ambient`` gives
    ``attr_strength="1"`` (the unpaired ``ambient`` stays only in ``attributes``); and
    tails such as ``0_g_25_mm_2000_mV_none`` or ``A1Spd28VMic1``, which are not key/value
    pairs, give no ``attr_`` column. The ``attributes_XX.csv`` files that DCASE 2022+
    ships in ``<machine_type>/`` (columns ``file_name, d1p, d1v, d2p, d2v, ...``) add
    ``attr_<dNp>`` values where the name does not have them, and give the
    ``attributes`` string (``"<d1p>_<d1v>_..."``) to clips whose name has none; a CSV
    value that contradicts the file name is an error.

    Parameters
    ----------
    root : str or path-like
        Folder to search (recursively) for clips.
    machine_types : str or iterable of str, default=None
        Keep only these machine types (folder names, e.g. ``"fan"``, ``"ToyCar"``).
        ``None`` keeps all. Folders of other machine types are not parsed at all.
    splits : str or iterable of {"train", "test", "unsplit", "supplemental"}, default=None
        Keep only clips of these splits. ``None`` keeps all.
    layout : {"auto", "dcase2020", "dcase2021+", "mimii"}, default="auto"
        Naming scheme. ``"auto"`` recognises it from the names and refuses a root that
        mixes layouts (e.g. DCASE 2020 and 2021 data together, where ``fan`` section 00
        would be two different machines); naming a layout reads only that layout's
        folders.
    ground_truth : str or path-like, default=None
        Labels of an evaluation set, as the official evaluators ship them. Either a
        folder holding ``ground_truth_data/ground_truth_<machine_type>_section_XX_test.csv``
        (rows ``file name, label``; DCASE 2021: ``..._section_XX_{source,target}_test.csv``)
        and, optionally, ``ground_truth_domain/`` (rows ``file name, 0/1``: 0 source,
        1 target) and ``ground_truth_attributes/`` (rows ``file name, original name``, the
        original name, as published, giving domain and attributes; a further column, such
        as the concealed attributes of DCASE 2024, is not read); or a CSV file in the style
        of DCASE 2020's ``eval_data_list.csv`` (a line with the machine type, then rows
        ``file name, original name[, label]``). Ground truth that contradicts a clip's name is an
        error, and so is a test clip left without label in a machine type the ground
        truth covers. Without ground truth, unknown labels are ``<NA>`` and unknown
        domains (2022+ evaluation test clips) are ``None``.

    Returns
    -------
    frame : pandas.DataFrame of shape (n_clips, n_columns)
        Rows sorted by ``(machine_type, split, path)``, index ``0..n_clips-1``. Columns:

        - ``path`` (str): absolute path of the clip;
        - ``machine_type`` (str);
        - ``section`` (int): section number, or machine ID for DCASE 2020 and MIMII;
        - ``domain`` (str): ``"source"`` or ``"target"``; ``None`` where unknown;
        - ``split`` (str): ``"train"``, ``"test"``, ``"supplemental"`` (DCASE 2025) or
          ``"unsplit"`` (MIMII);
        - ``label`` (``Int64``): 0 normal, 1 anomalous, ``<NA>`` unknown;
        - ``attributes`` (str): the raw attribute part of the name, ``""`` when none;
        - ``snr`` (``Int64``, MIMII only): signal-to-noise ratio in dB;
        - ``content`` (str, only when supplemental clips were found): ``"machine"``
          (clean machine sound) or ``"noise"`` (noise only) for supplemental clips,
          ``None`` where the name does not say and for the other clips;
        - ``attr_<key>`` (str): one column per attribute key, sorted by key; ``None``
          for clips without that key.

    Raises
    ------
    FileNotFoundError
        If ``root`` or ``ground_truth`` does not exist.
    DatasetError
        A :class:`ValueError` that names the file: if a clip name does not parse, has a
        section number above 9999, lacks its label (a training clip, or a name with
        ``normal``/``anomaly``... after the clip number), if names contradict their
        folders, the attribute CSVs or the ground truth, if layouts are mixed, if the
        same clip appears twice, if a filter names an unknown machine type, or if no
        clip is found.
    ValueError
        If ``layout`` or ``splits`` is not one of the values above.

    Warns
    -----
    UserWarning
        When macOS AppleDouble files (``._*.wav``, Finder metadata) are skipped.

    See Also
    --------
    sklasd.datasets.write_challenge_csvs : Write anomaly scores in the challenge format.
    sklasd.datasets.load_audio : Read the waveforms of the clips in ``frame.path``.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklasd.datasets import load_dcase
    >>> root = Path(tempfile.mkdtemp())
    >>> names = {
    ...     "train": ["section_00_source_train_normal_0000_car_A1_spd_28V.wav",
    ...               "section_00_target_train_normal_0000_car_B2_spd_31V.wav"],
    ...     "test": ["section_00_source_test_anomaly_0000_car_A1_spd_28V.wav"],
    ... }
    >>> for split, files in names.items():
    ...     (root / "ToyCar" / split).mkdir(parents=True)
    ...     for name in files:
    ...         (root / "ToyCar" / split / name).touch()  # names are all that is read
    >>> frame = load_dcase(root)
    >>> frame.drop(columns="path")
      machine_type  section  domain  split  label      attributes attr_car attr_spd
    0       ToyCar        0  source   test      1  car_A1_spd_28V       A1      28V
    1       ToyCar        0  source  train      0  car_A1_spd_28V       A1      28V
    2       ToyCar        0  target  train      0  car_B2_spd_31V       B2      31V
    >>> load_dcase(root, splits="train").shape
    (2, 9)

    With the real data (paths are placeholders):

    >>> dev = load_dcase("dcase2020/dev_data", machine_types=["fan"])  # doctest: +SKIP
    >>> ev = load_dcase("dcase2023/eval_data", splits="test",
    ...                 ground_truth="dcase2023_task2_evaluator")  # doctest: +SKIP
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"Dataset folder {str(root)!r} does not exist.")
    if not root.is_dir():
        raise NotADirectoryError(f"Dataset root {str(root)!r} is not a folder.")
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}.")
    machine_types = _as_str_set(machine_types, "machine_types")
    splits = _as_str_set(splits, "splits")
    if splits is not None and not splits <= set(SPLITS):
        raise ValueError(f"splits must be among {SPLITS}, got {sorted(splits)}.")
    truth = None if ground_truth is None else _read_ground_truth(Path(ground_truth))

    records, found_types = _scan(root.resolve(), layout, machine_types)
    if machine_types is not None and not machine_types <= found_types:
        raise DatasetError(
            f"Machine type(s) {sorted(machine_types - found_types)} not found under "
            f"{str(root)!r}; found {sorted(found_types)}."
        )
    if splits is not None:
        records = [record for record in records if record["split"] in splits]
    if not records:
        raise DatasetError(
            f"No clips found under {str(root)!r} (layout={layout!r}, "
            f"machine_types={sorted(machine_types) if machine_types else None}, "
            f"splits={sorted(splits) if splits else None}). Expected "
            "<machine_type>/{train,test}/*.wav (DCASE) or "
            "<snr>_dB_<machine_type>/<machine_type>/id_XX/{normal,abnormal}/*.wav (MIMII)."
        )
    # supplemental names follow no year's scheme closely enough to tell layouts apart
    layouts = {r["layout"] for r in records if r["split"] != "supplemental"} or {"dcase2021+"}
    if len(layouts) > 1:
        examples = {record["layout"]: record["path"] for record in records}
        raise DatasetError(
            f"{str(root)!r} mixes clip layouts {sorted(layouts)} (e.g. "
            f"{sorted(examples.values())}); pass a narrower root or layout=."
        )
    if truth is not None:
        _apply_ground_truth(records, truth)
    return _to_frame(
        records,
        with_snr=layouts == {"mimii"},
        with_content=any(record["split"] == "supplemental" for record in records),
    )


def _as_str_set(values, name):
    """Turn a filter argument (None, a string or an iterable of strings) into a set."""
    if values is None:
        return None
    values = {values} if isinstance(values, str) else set(values)
    if not values or not all(isinstance(value, str) for value in values):
        raise ValueError(f"{name} must be a string or a non-empty iterable of strings.")
    return values


def _scan(root, layout, machine_types):
    """Walk ``root`` and parse every clip; return the records and all machine types seen."""
    records, found_types, attribute_tables, apple_double = [], set(), {}, []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        folder = Path(dirpath)
        if folder.name in _SPLIT_DIRS and layout != "mimii":
            machine_dir, kind = folder.parent, "dcase"
        elif folder.name == _SUPPLEMENTAL_DIR and layout in ("auto", "dcase2021+"):
            machine_dir, kind = folder.parent, "supplemental"
        elif (
            folder.name in _MIMII_LABEL_DIRS
            and layout in ("auto", "mimii")
            and _MIMII_ID_DIR.fullmatch(folder.parent.name)
        ):
            machine_dir, kind = folder.parent.parent, "mimii"
        else:
            continue
        wavs = sorted(name for name in filenames if name.lower().endswith(".wav"))
        # macOS writes Finder metadata of x.wav as ._x.wav on foreign file systems.
        apple_double += [os.path.join(dirpath, name) for name in wavs if name.startswith("._")]
        wavs = [name for name in wavs if not name.startswith("._")]
        if not wavs:
            continue
        found_types.add(machine_dir.name)
        if machine_types is not None and machine_dir.name not in machine_types:
            continue
        if kind == "mimii":
            records.extend(_parse_mimii(folder, wavs))
            continue
        if kind == "supplemental":
            records.extend(_parse_supplemental(folder, machine_dir.name, wavs))
            continue
        if machine_dir not in attribute_tables:
            attribute_tables[machine_dir] = _read_attribute_csvs(machine_dir)
        table = attribute_tables[machine_dir]
        for name in wavs:
            record = _parse_dcase(dirpath, folder.name, machine_dir.name, name, layout)
            if table:
                _add_csv_attributes(record, table, folder.name)
            records.append(record)
    if apple_double:
        warnings.warn(
            f"Skipped {len(apple_double)} macOS AppleDouble file(s) (names starting with "
            f"'._', Finder metadata rather than audio), e.g. {apple_double[0]!r}. Delete them "
            "with `find <root> -name '._*' -delete` (or `dot_clean <root>` on macOS).",
            UserWarning,
            stacklevel=3,
        )
    _check_duplicates(records)
    return records, found_types


def _section_number(digits, path):
    """The section (machine ID) number written as ``digits`` in the name of ``path``."""
    # Checked by length first: int() of thousands of digits is slow, then refused.
    if len(digits.lstrip("0")) > len(str(MAX_SECTION)) or int(digits) > MAX_SECTION:
        raise DatasetError(
            f"{path!r} has section (machine ID) number {digits}, out of range "
            f"(0-{MAX_SECTION}); DCASE and MIMII names use two digits, e.g. section_00."
        )
    return int(digits)


def _parse_mimii(folder, wavs):
    """Parse ``[<snr>_dB_<machine_type>/]<machine_type>/id_XX/{normal,abnormal}/NNNN.wav``."""
    snr = _MIMII_SNR_DIR.fullmatch(folder.parent.parent.parent.name)
    common = {
        "machine_type": folder.parent.parent.name,
        "section": _section_number(
            _MIMII_ID_DIR.fullmatch(folder.parent.name)["section"], str(folder)
        ),
        "domain": "source",
        "split": "unsplit",
        "label": _MIMII_LABEL_DIRS[folder.name],
        "attributes": "",
        "snr": int(snr["snr"]) if snr else None,
        "layout": "mimii",
    }
    records = []
    for name in wavs:
        path = os.path.join(folder, name)
        if not _MIMII_NAME.fullmatch(name[:-4]):
            raise DatasetError(f"Cannot parse MIMII clip name {path!r}: expected NNNNNNNN.wav.")
        records.append({**common, "path": path, "attrs": {}})
    return records


def _parse_supplemental(folder, machine_type, wavs):
    """Parse the clips of ``<machine_type>/supplemental/`` (DCASE 2025), leniently."""
    records = []
    for name in wavs:
        path = os.path.join(folder, name)
        tokens = name[:-4].split("_")
        try:
            at = tokens.index("section")
            section = int(tokens[at + 1])
        except (ValueError, IndexError):
            raise ValueError(
                f"Cannot read the section of supplemental clip {path!r}: expected a name "
                "such as section_00_source_supplemental_noise_0000.wav."
            ) from None
        rest = tokens[at + 2 :]
        numbers = [i for i, token in enumerate(rest) if token.isdigit()]
        attributes = "_".join(rest[numbers[0] + 1 :]) if numbers else ""
        words = set(rest[: numbers[0]] if numbers else rest)
        contents = {_SUPPLEMENTAL_CONTENT[word] for word in words & set(_SUPPLEMENTAL_CONTENT)}
        domains = words & {"source", "target"}
        records.append(
            {
                "path": path,
                "machine_type": machine_type,
                "section": section,
                "domain": domains.pop() if len(domains) == 1 else None,
                "split": "supplemental",
                "label": None,
                "attributes": attributes,
                "attrs": dict(_parse_attributes(attributes)),
                "content": contents.pop() if len(contents) == 1 else None,
                "layout": "dcase2021+",
            }
        )
    return records


def _parse_dcase(dirpath, folder_name, machine_type, name, layout):
    """Parse a clip in a DCASE split folder into a record (layout given or recognised)."""
    path = os.path.join(dirpath, name)
    split, folder_domain = _SPLIT_DIRS[folder_name]
    record = _parse_name(name[:-4], layout)
    expected = {
        "dcase2020": "[{normal,anomaly}_]id_XX_NNNNNNNN.wav",
        "dcase2021+": "section_XX_{source,target}_{train,test}_{normal,anomaly}_NNNN"
        "[_<attributes>].wav or section_XX_NNNN.wav",
    }
    if record is None:
        wanted = [expected[layout]] if layout in expected else list(expected.values())
        raise DatasetError(
            f"Cannot parse DCASE clip name {path!r} (layout={layout!r}); expected "
            + " or ".join(wanted)
            + "."
        )
    record["section"] = _section_number(record["section"], path)
    if record["label"] is None:
        misplaced = sorted(_FIELD_WORDS.intersection(record["attributes"].split("_")))
        if misplaced:
            raise DatasetError(
                f"Clip {path!r} has {misplaced} after its clip number, where only attributes "
                f"go, and no label before it; expected {expected[record['layout']]}."
            )
        if split == "train":
            raise DatasetError(
                f"Training clip {path!r} has no label (normal or anomaly) in its name; "
                f"expected {expected[record['layout']]}."
            )
    for field, from_folder in (("split", split), ("domain", folder_domain)):
        from_name = record.pop(f"name_{field}")
        if from_name is not None and from_folder is not None and from_name != from_folder:
            raise DatasetError(
                f"Clip {path!r} says {field} {from_name!r} in its name but lies in "
                f"folder {folder_name!r}."
            )
        record[field] = from_folder if from_folder is not None else from_name
    if record["layout"] == "dcase2020":
        record["domain"] = "source"
    record.update(path=path, machine_type=machine_type)
    return record


def _parse_name(stem, layout):
    """Parse a DCASE file name without extension; None when no pattern of ``layout`` fits.

    The section is returned as written (its digits): :func:`_section_number` reads it.
    """
    candidates = ("dcase2021+", "dcase2020") if layout == "auto" else (layout,)
    for candidate in candidates:
        match = _NAME_PATTERNS[candidate].fullmatch(stem)
        if match is not None:
            groups = match.groupdict()
            attributes = groups.get("attributes") or ""
            return {
                "section": groups["section"],
                "name_domain": groups.get("domain"),
                "name_split": groups.get("split"),
                "label": _LABELS.get(groups["label"]),
                "attributes": attributes,
                "attrs": dict(_parse_attributes(attributes)),
                "layout": candidate,
            }
    return None


@functools.lru_cache(maxsize=4096)
def _parse_attributes(attributes):
    """Read ``<key>_<value>`` pairs from the left while they parse cleanly (cached)."""
    tokens = attributes.split("_") if attributes else []
    pairs = {}
    for key, value in zip(tokens[::2], tokens[1::2], strict=False):
        if not _KEY.fullmatch(key) or key in pairs or not value:
            break
        pairs[key] = value
    return tuple(pairs.items())


def _read_attribute_csvs(machine_dir):
    """Read ``<machine_dir>/attributes_*.csv``: {(split folder or None, file name): pairs}."""
    table = {}
    for csv_path in sorted(machine_dir.glob("attributes_*.csv")):
        with open(csv_path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = [column.strip() for column in reader.fieldnames or []]
            if "file_name" not in columns:
                raise DatasetError(
                    f"Attribute file {str(csv_path)!r} has no 'file_name' column "
                    f"(columns: {columns})."
                )
            numbers = sorted(
                (int(m["n"]), m.string) for m in map(_ATTRIBUTE_PAIR.fullmatch, columns) if m
            )
            for row in reader:
                row = {key.strip(): (value or "").strip() for key, value in row.items() if key}
                parts = Path(row["file_name"]).parts
                pairs = {}
                for n, key_column in numbers:
                    key, value = row.get(key_column, ""), row.get(f"d{n}v", "")
                    if key and value and key != "noAttribute":
                        pairs[key] = value
                split_dir = parts[-2] if len(parts) > 1 else None
                table[(split_dir, parts[-1])] = (pairs, csv_path)
    return table


def _add_csv_attributes(record, table, split_dir):
    """Merge the attribute-CSV pairs of one clip into its record."""
    name = os.path.basename(record["path"])
    entry = table.get((split_dir, name)) or table.get((None, name))
    if entry is None:
        return
    pairs, csv_path = entry
    _merge_attrs(record, pairs, f"attribute file {str(csv_path)!r}")
    if not record["attributes"] and pairs:
        record["attributes"] = "_".join(f"{key}_{value}" for key, value in pairs.items())


def _merge_attrs(record, pairs, source):
    """Add ``pairs`` to the record's attributes; a contradicting value is an error."""
    for key, value in pairs.items():
        known = record["attrs"].setdefault(key, value)
        if known != value:
            raise DatasetError(
                f"Clip {record['path']!r} has {key}={known!r} but {source} says {value!r}."
            )


def _read_ground_truth(path):
    """Read evaluator ground truth into {(machine_type, file name): facts}."""
    if not path.exists():
        raise FileNotFoundError(f"Ground truth {str(path)!r} does not exist.")
    truth = {}
    if path.is_file():
        machine_type = None
        for row in _csv_rows(path):
            if len(row) == 1:
                machine_type = row[0]
                continue
            if machine_type is None or len(row) < 2:
                raise DatasetError(
                    f"Ground-truth list {str(path)!r} must start with a machine-type line and "
                    f"hold rows 'file name, original name[, label]'; got {row}."
                )
            facts = {"original": row[1]}
            if len(row) > 2:
                facts["label"] = _int_field(row[2], path, {0, 1})
            truth[(machine_type, row[0])] = facts
        return truth
    data_dir = path / "ground_truth_data"
    if not data_dir.is_dir():
        raise FileNotFoundError(
            f"Ground-truth folder {str(path)!r} has no 'ground_truth_data' folder."
        )
    for field, subfolder in (
        ("label", "ground_truth_data"),
        ("domain", "ground_truth_domain"),
        ("original", "ground_truth_attributes"),
    ):
        for csv_path in sorted((path / subfolder).glob("ground_truth_*.csv")):
            match = _GROUND_TRUTH_NAME.fullmatch(csv_path.name)
            if match is None:
                raise DatasetError(
                    f"Cannot parse ground-truth file name {str(csv_path)!r}: expected "
                    "ground_truth_<machine_type>_section_XX[_<domain>]_test.csv."
                )
            for row in _csv_rows(csv_path):
                facts = truth.setdefault((match["machine_type"], row[0]), {})
                if field == "label":
                    facts["label"] = _int_field(row[1], csv_path, {0, 1})
                elif field == "domain":
                    facts["domain"] = ("source", "target")[_int_field(row[1], csv_path, {0, 1})]
                else:
                    facts["original"] = row[1]
    return truth


def _csv_rows(path):
    """Non-empty rows of a header-less CSV file, stripped."""
    with open(path, newline="", encoding="utf-8-sig") as handle:
        return [[cell.strip() for cell in row] for row in csv.reader(handle) if any(row)]


def _int_field(text, path, allowed):
    """Parse one integer cell of a ground-truth file, naming the file when it is wrong."""
    try:
        value = int(float(text))
    except ValueError:
        value = None
    if value not in allowed:
        raise DatasetError(f"Ground-truth file {str(path)!r} holds {text!r}; expected 0 or 1.")
    return value


def _apply_ground_truth(records, truth):
    """Fill labels, domains and attributes of evaluation clips from the ground truth."""
    covered = {machine_type for machine_type, _ in truth}
    for record in records:
        facts = truth.get((record["machine_type"], os.path.basename(record["path"])))
        if facts is None:
            continue
        source = "the ground truth"
        found = {key: facts[key] for key in ("label", "domain") if key in facts}
        if "original" in facts:
            original = facts["original"]
            stem = original[:-4] if original.lower().endswith(".wav") else original
            parsed = _parse_name(stem, record["layout"])
            if parsed is None:
                raise DatasetError(
                    f"Cannot parse the original name {original!r} that the ground truth "
                    f"gives for {record['path']!r}."
                )
            for key, value in (("label", parsed["label"]), ("domain", parsed["name_domain"])):
                if value is not None and found.setdefault(key, value) != value:
                    raise DatasetError(
                        f"The ground truth contradicts itself for {record['path']!r}: "
                        f"{key} {found[key]!r} vs original name {original!r}."
                    )
            _merge_attrs(record, parsed["attrs"], source)
            if not record["attributes"]:
                record["attributes"] = parsed["attributes"]
        for key, value in found.items():
            if record[key] is not None and record[key] != value:
                raise DatasetError(
                    f"Clip {record['path']!r} has {key} {record[key]!r} but {source} says "
                    f"{value!r}."
                )
            record[key] = value
    missing = [
        record["path"]
        for record in records
        if record["split"] == "test"
        and record["label"] is None
        and record["machine_type"] in covered
    ]
    if missing:
        raise DatasetError(
            f"The ground truth has no label for {len(missing)} test clip(s), e.g. {missing[0]!r}."
        )


def _check_duplicates(records):
    """Refuse the same clip found twice (e.g. one dataset extracted in two places)."""
    seen = {}
    for record in records:
        key = (
            record["machine_type"],
            record["split"],
            record.get("snr"),
            record["section"],
            record["label"],
            os.path.basename(record["path"]),
        )
        if key in seen:
            raise DatasetError(
                f"Clip {record['path']!r} duplicates {seen[key]!r} (same machine type, "
                "split and name); pass a narrower root."
            )
        seen[key] = record["path"]


def _to_frame(records, *, with_snr, with_content):
    """Build the sorted metadata DataFrame of the shared contract from parsed records."""

    def text(key):
        return pd.Series([record[key] for record in records], dtype=object)

    columns = {
        "path": text("path"),
        "machine_type": text("machine_type"),
        "section": pd.Series([record["section"] for record in records], dtype=np.int64),
        "domain": text("domain"),
        "split": text("split"),
        "label": pd.Series([record["label"] for record in records], dtype="Int64"),
        "attributes": text("attributes"),
    }
    if with_snr:
        columns["snr"] = pd.Series([record["snr"] for record in records], dtype="Int64")
    if with_content:
        columns["content"] = pd.Series([record.get("content") for record in records], dtype=object)
    for key in sorted({key for record in records for key in record["attrs"]}):
        columns[f"attr_{key}"] = pd.Series(
            [record["attrs"].get(key) for record in records], dtype=object
        )
    frame = pd.DataFrame(columns)
    return frame.sort_values(["machine_type", "split", "path"], kind="stable", ignore_index=True)


_NAME_COLUMNS = ("machine_type", "section", "domain", "split", "label", "attributes")


def _file_names(frame: pd.DataFrame, naming: str) -> list[str]:
    """Relative file names (``<machine_type>/<split>/<name>.wav``) of the frame's rows."""
    missing = [c for c in _NAME_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"frame lacks the column(s) {missing} needed to name the files.")
    allowed = {"domain": ("source", "target"), "split": ("train", "test"), "label": (0, 1)}
    for column, values in allowed.items():
        bad = frame.index[~frame[column].isin(values).to_numpy(dtype=bool)]
        if len(bad):
            raise ValueError(
                f"frame[{column!r}] must be one of {list(values)} to name a file; row "
                f"{bad[0]!r} has {frame.at[bad[0], column]!r}."
            )
    for column in ("machine_type", "attributes"):
        text = frame[column].fillna("").astype(str)
        bad = frame.index[text.str.contains(r"[/\\\s]", regex=True).to_numpy(dtype=bool)]
        if column == "machine_type":
            bad = bad.union(frame.index[(text == "").to_numpy()])
        if len(bad):
            raise ValueError(
                f"frame[{column!r}] of row {bad[0]!r} is {frame.at[bad[0], column]!r}, which "
                "cannot be part of a file name (empty, or with a separator or blank)."
            )
    section = pd.to_numeric(frame["section"], errors="coerce")
    bad = frame.index[
        ~(section.notna() & (section >= 0) & (section % 1 == 0)).to_numpy(dtype=bool)
    ]
    if len(bad):
        raise ValueError(
            f"frame['section'] must hold non-negative integers; row {bad[0]!r} has "
            f"{frame.at[bad[0], 'section']!r}."
        )
    if naming == "dcase2020" and (frame["domain"] == "target").any():
        row = frame.index[(frame["domain"] == "target").to_numpy()][0]
        raise ValueError(
            f"naming='dcase2020' cannot store the domain, but row {row!r} is a target-domain "
            "clip; use naming='dcase2022'."
        )

    keys = ["machine_type", "section", "split", "label"]
    if naming == "dcase2022":
        keys.insert(2, "domain")
    table = frame[keys].assign(section=section.astype(np.int64))
    index = table.groupby(keys, sort=False).cumcount().to_numpy()
    attributes = frame["attributes"].fillna("").astype(str).to_numpy()
    names = []
    for i, (machine_type, sec, *rest) in enumerate(table.itertuples(index=False)):
        state = "anomaly" if rest[-1] == 1 else "normal"
        split = rest[-2]
        if naming == "dcase2022":
            tail = f"_{attributes[i]}" if attributes[i] else ""
            name = f"section_{sec:02d}_{rest[0]}_{split}_{state}_{index[i]:04d}{tail}.wav"
        else:
            name = f"{state}_id_{sec:02d}_{index[i]:08d}.wav"
        names.append(f"{machine_type}/{split}/{name}")
    return names


def _iter_clips(X) -> Iterator[np.ndarray]:
    """Clips one by one from a 2-D array or an iterable of clips / 2-D chunks."""
    if isinstance(X, np.ndarray):
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (n_clips, n_samples), got shape {X.shape}.")
        yield from X
        return
    for item in X:
        item = np.asarray(item)
        if item.ndim == 1:
            yield item
        elif item.ndim == 2:
            yield from item
        else:
            raise ValueError(f"X yields an array of shape {item.shape}; expected 1-D or 2-D.")


@validate_params(
    {
        "root": [str, os.PathLike],
        "X": ["array-like", Iterable],
        "frame": [pd.DataFrame],
        "sr": [Interval(Integral, 1, None, closed="left")],
        "naming": [StrOptions({"dcase2022", "dcase2020"})],
        "subtype": [StrOptions({"PCM_16", "PCM_24", "FLOAT"})],
        "overwrite": ["boolean"],
    },
    prefer_skip_nested_validation=True,
)
def write_dcase_folder(
    root: str | os.PathLike,
    X: np.ndarray | Iterable[np.ndarray],
    frame: pd.DataFrame,
    *,
    sr: int = 16000,
    naming: str = "dcase2022",
    subtype: str = "PCM_16",
    overwrite: bool = False,
) -> pd.DataFrame:
    """Write clips as WAV files in the DCASE Task 2 folder layout.

    Parameters
    ----------
    root : str or os.PathLike
        Folder to write into (created if needed); files go to
        ``<root>/<machine_type>/<split>/``.
    X : array-like of shape (n_clips, n_samples), or iterable of arrays
        The waveforms in frame order, in [-1, 1] for PCM subtypes. Instead of one
        array, an iterable of 1-D clips or 2-D chunks (such as the generator
        :func:`make_machine_sounds` returns with ``chunk_size``) is written as it
        comes, holding only one chunk in memory.
    frame : pandas.DataFrame of n_clips rows
        Metadata of the shared contract; the columns ``machine_type``,
        ``section`` (non-negative int), ``domain`` ("source"/"target"),
        ``split`` ("train"/"test"), ``label`` (0/1, no missing values) and
        ``attributes`` (str, "" for none) name the files.
    sr : int, default=16000
        Sample rate written into the files.
    naming : {"dcase2022", "dcase2020"}, default="dcase2022"
        File-name scheme. "dcase2022" (DCASE 2021-2025):
        ``section_XX_<domain>_<split>_<normal|anomaly>_NNNN[_<attributes>].wav``,
        NNNN counting within (machine type, section, domain, split, label).
        "dcase2020": ``<normal|anomaly>_id_XX_NNNNNNNN.wav``, NNNNNNNN counting
        within (machine type, section, split, label); it has no place for the
        domain (target-domain rows raise an error) nor the attributes (dropped).
    subtype : {"PCM_16", "PCM_24", "FLOAT"}, default="PCM_16"
        Sample format. "PCM_16" is what the DCASE data sets ship; it quantises
        to steps of 1/32768. "FLOAT" stores float32 losslessly.
    overwrite : bool, default=False
        Whether existing files of the same names may be replaced.

    Returns
    -------
    frame : pandas.DataFrame
        A copy of ``frame`` (same index and columns) with ``path`` set to the
        written files (str, under ``root`` as given).

    Raises
    ------
    ValueError
        If a row cannot be named (the message names the row and value), the
        number of clips differs from the number of rows, a clip is not 1-D or
        holds NaN/infinity, or (PCM) a sample lies outside [-1, 1]. With an
        iterable ``X``, files before the offending clip are already written.
    FileExistsError
        If a target file exists and ``overwrite`` is False (checked before
        anything is written).

    See Also
    --------
    make_machine_sounds : Synthetic clips with a frame to write.
    load_dcase : Read such a folder back into a frame.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from sklasd.datasets import make_machine_sounds, write_dcase_folder
    >>> X, frame = make_machine_sounds(
    ...     machine_types="valve", n_sections=1, n_train=2, n_train_target=1, n_test=2,
    ...     duration=0.5, random_state=0)
    >>> with tempfile.TemporaryDirectory() as root:
    ...     written = write_dcase_folder(root, X, frame)
    ...     names = [Path(p).relative_to(root).as_posix() for p in written["path"]]
    >>> print("\\n".join(names[:3]))
    valve/train/section_00_source_train_normal_0000_spd_100_load_2_noise_pink.wav
    valve/train/section_00_source_train_normal_0001_spd_90_load_1_noise_pink.wav
    valve/train/section_00_target_train_normal_0000_spd_120_load_1_noise_pink.wav
    """
    names = _file_names(frame, naming)
    if isinstance(X, np.ndarray) and X.ndim == 2 and X.shape[0] != len(frame):
        raise ValueError(f"X has {X.shape[0]} clips but frame has {len(frame)} rows.")
    root = Path(root)
    paths = [root / name for name in names]
    if not overwrite:
        existing = next((p for p in paths if p.exists()), None)
        if existing is not None:
            raise FileExistsError(
                f"{existing} exists; pass overwrite=True to replace existing files."
            )
    pcm = subtype != "FLOAT"
    count = 0
    for count, clip in enumerate(_iter_clips(X), start=1):
        if count > len(paths):
            raise ValueError(f"X has more clips than frame has rows ({len(frame)}).")
        row = frame.index[count - 1]
        if clip.ndim != 1 or not np.all(np.isfinite(clip)):
            raise ValueError(f"Clip of row {row!r} must be 1-D and finite.")
        if pcm and clip.size and np.abs(clip).max() > 1:
            raise ValueError(
                f"Clip of row {row!r} exceeds [-1, 1] (peak {np.abs(clip).max():.3g}); "
                f"{subtype} would clip it. Scale it down or use subtype='FLOAT'."
            )
        paths[count - 1].parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(paths[count - 1], "wb") as handle:
            sf.write(handle, clip, sr, subtype=subtype, format="WAV")
    if count != len(paths):
        raise ValueError(f"X has {count} clips but frame has {len(frame)} rows.")
    written = frame.copy()
    written["path"] = pd.Series([str(p) for p in paths], index=frame.index, dtype=object)
    return written
