"""Datasets: DCASE/MIMII loaders, audio reading and synthetic machine sounds."""

from sklasd.datasets._audio import iter_audio_batches, load_audio
from sklasd.datasets._dcase import load_dcase, write_dcase_folder
from sklasd.datasets._submission import write_challenge_csvs
from sklasd.datasets._synthetic import make_machine_sounds

__all__ = [
    "iter_audio_batches",
    "load_audio",
    "load_dcase",
    "make_machine_sounds",
    "write_challenge_csvs",
    "write_dcase_folder",
]
