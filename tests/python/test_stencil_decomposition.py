"""The Cartesian split of a distributed StencilGrid (no MPI needed: the chooser is plain arithmetic)."""

import itertools
import math

import pytest

from asp.stencil import _split, choose_dims


def halo_faces(shape, dims):
    return sum((p - 1) * math.prod(n for j, n in enumerate(shape) if j != k) for k, p in enumerate(dims))


@pytest.mark.parametrize("shape, ranks, expected", [
    ((100,), 4, (4,)),
    ((64, 64), 4, (2, 2)),
    ((64, 64), 2, (2, 1)),          # a tie goes to the first axis: its faces are contiguous
    ((1000, 10), 4, (4, 1)),        # cut the long axis: short faces
    ((10, 1000), 4, (1, 4)),
    ((64, 64, 64), 8, (2, 2, 2)),
    ((64, 64, 64), 2, (2, 1, 1)),
    ((128, 64, 64), 4, (4, 1, 1)),  # ties with (2, 2, 1) on halo area: the first axis again
    ((30, 30, 30), 1, (1, 1, 1)),
    ((17, 13), 7, (7, 1)),          # a prime count: one axis takes it all
])
def test_the_split_with_the_least_halo(shape, ranks, expected):
    dims = choose_dims(shape, ranks)
    assert dims == expected
    assert math.prod(dims) == ranks


@pytest.mark.parametrize("shape, ranks", [((48, 36, 20), 12), ((30, 50), 6), ((9, 8, 7, 6), 24), ((1000,), 8)])
def test_no_other_factorization_has_less_halo(shape, ranks):
    dims = choose_dims(shape, ranks)
    best = halo_faces(shape, dims)
    for other in itertools.product(range(1, ranks + 1), repeat=len(shape)):
        if math.prod(other) == ranks and all(n // p >= 1 for n, p in zip(shape, other)):
            assert halo_faces(shape, other) >= best


def test_blocks_too_thin_for_the_ghost_depth_are_avoided_or_refused():
    assert choose_dims((4, 100), 4, ghost=2) == (1, 4)  # 4 // 4 = 1 < 2 along axis 0
    with pytest.raises(ValueError, match="cannot be split over 8 ranks"):
        choose_dims((5,), 8)
    with pytest.raises(ValueError, match="ghost depth"):
        choose_dims((6,), 4, ghost=2)
    with pytest.raises(ValueError):
        choose_dims((6,), 0)


@pytest.mark.parametrize("n, parts", [(10, 3), (7, 7), (100, 6), (5, 1)])
def test_the_parts_of_an_axis_cover_it_in_order_and_differ_by_at_most_one(n, parts):
    ranges = [_split(n, parts, i) for i in range(parts)]
    assert ranges[0][0] == 0 and ranges[-1][1] == n
    assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    sizes = [b - a for a, b in ranges]
    assert max(sizes) - min(sizes) <= 1
