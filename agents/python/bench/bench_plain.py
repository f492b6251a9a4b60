"""The same function, loaded before the agent: the no-agent baseline and the hand-written span's body."""


def work(x):
    return x + 1
