"""The Huber loss, the README's branch example: one function per side of the ``if``, and a dispatcher.

    symdiff grad examples/huber.py:huber --wrt r
"""


def huber(r, delta):
    if abs(r) <= delta:
        return 0.5 * r ** 2
    return delta * (abs(r) - 0.5 * delta)
