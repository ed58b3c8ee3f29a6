def make_machine_sounds(*args, **kwargs):  # placeholder
    raise NotImplementedError


def write_dcase_folder(*args, **kwargs):  # placeholder
    raise NotImplementedError
