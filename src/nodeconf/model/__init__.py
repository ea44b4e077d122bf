"""The pure model: parse, defaults, validation, selectors, merge, feature gates.

No I/O, no threads, no clock, standard library only (it must run on free-threaded CPython).
"""
