"""The same function in a module the filter leaves out: calling it must cost what it did."""


def work(x):
    return x + 1
