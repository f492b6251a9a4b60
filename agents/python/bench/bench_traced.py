"""The function every variant of the benchmark calls (traced by the agent when included)."""


def work(x):
    return x + 1
