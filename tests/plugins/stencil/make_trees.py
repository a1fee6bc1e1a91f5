#!/usr/bin/env python3
"""Writes the Trees of kernels.py into data/, as the Python binding would send them.

The Tree text comes from the binding's own writer (python/asp/_tree.py), so
the test data has exactly the binding's format. Each kernel gets the
constants asp.stencil adds (self.constants, every grid's neighbour definition
and ghost depth) as given in KERNELS below. data/refusals.txt lists, for each
kernel that must be refused, the line of its `# unsupported` or `# invalid`
comment. Run it after changing kernels.py or the Tree format; it needs no
NumPy and no built Asp.
"""
import importlib
import pathlib
import sys
import types

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[2]


def load_modules():
    """asp._tree from the source tree, and kernels.py against a stand-in asp.stencil."""
    asp = types.ModuleType("asp")
    asp.__path__ = [str(ROOT / "python" / "asp")]
    sys.modules["asp"] = asp
    stencil = types.ModuleType("asp.stencil")

    class StencilKernel:
        pass

    def distance(x, y):
        return sum((a - b) ** 2 for a, b in zip(x, y)) ** 0.5

    distance.__module__, distance.__qualname__ = "asp.stencil", "distance"
    stencil.StencilKernel = StencilKernel
    stencil.distance = distance
    sys.modules["asp.stencil"] = stencil
    numpy = types.ModuleType("numpy")  # only a name the kernels resolve: no NumPy scalar is ever seen
    numpy.bool_ = numpy.integer = numpy.floating = type("NotANumpyScalar", (), {})
    sys.modules["numpy"] = numpy
    sys.path.insert(0, str(HERE))
    return importlib.import_module("asp._tree"), importlib.import_module("kernels")


def axis_steps(rank):
    """StencilGrid's default neighbour set 1: one step along each axis, +1 then -1."""
    steps = []
    for axis in range(rank):
        for step in (1, -1):
            offset = [0] * rank
            offset[axis] = step
            steps.append(offset)
    return steps


def default(rank, ghost=1):
    return {"ghost": ghost, "neighbors": [[[0] * rank], axis_steps(rank)]}


def cube(radius):
    r = range(-radius, radius + 1)
    return [[a, b, c] for a in r for b in r for c in r if (a, b, c) != (0, 0, 0)]


MOORE = [[a, b] for a in (-1, 0, 1) for b in (-1, 0, 1) if (a, b) != (0, 0)]
LINE = {"ghost": 2, "neighbors": [[[0]], [[-2]], [[-1]], [[1]], [[2]]]}

# name: (class, {grid: {"ghost": depth, "neighbors": definition}}, self.constants)
KERNELS = {
    "four_neighbour_sum_2d": ("FourNeighbourSum", {"in_grid": default(2), "out_grid": default(2)}, {}),
    "four_neighbour_sum_3d": ("FourNeighbourSum", {"in_grid": default(3), "out_grid": default(3)}, {}),
    "derivative_1d": ("FourthOrderDerivative", {"in_grid": LINE, "out_grid": LINE}, {}),
    "laplacian_2d": ("Laplacian2D", {"in_grid": default(2), "out_grid": default(2)}, {}),
    "bilateral_3d": (
        "Bilateral",
        {"in_img": {"ghost": 3, "neighbors": [[[0, 0, 0]], cube(3)]}, "filter_d": default(1), "filter_s": default(1),
         "out_img": default(3, 3)},
        {},
    ),
    "distance_2d": (
        "DistanceWeighted",
        {"in_grid": {"ghost": 1, "neighbors": [[[0, 0]], axis_steps(2) + [[1, 1], [-1, -1], [1, -1], [-1, 1]]]},
         "out_grid": default(2)},
        {},
    ),
    "life": ("Life", {"in_grid": {"ghost": 1, "neighbors": [[[0, 0]], MOORE]}, "rules": default(1), "out_grid": default(2)}, {}),
    "heat_2d": ("Heat", {"in_grid": default(2), "out_grid": default(2)}, {}),
    "constant_laplacian_3d": ("ConstantLaplacian", {"in_grid": default(3), "out_grid": default(3)},
                              {"centre": -6.0, "edge": 1.0}),
    "everything": ("Everything", {"a": default(2), "b": default(2), "out": default(2)}, {}),
    "jacobi": ("Jacobi", {"u": default(2)}, {}),
    "periodic_border": ("PeriodicBorder", {"in_grid": {"ghost": 1, "neighbors": [[[0, 0]], [[-1, 0], [0, -1]]]},
                                           "out_grid": default(2)}, {}),
    "border_out_of_range": ("PeriodicBorder", {"in_grid": {"ghost": 1, "neighbors": [[[0, 0]], [[1, 0]]]},
                                               "out_grid": default(2)}, {}),
    "lookup": ("Lookup", {"in_grid": default(2), "table": default(1), "out_grid": default(2)}, {}),
    "numpy_division": ("NumpyDivision", {g: default(2) for g in "abqrtfm"}, {}),
    "python_division": ("PythonDivision", {g: default(2) for g in ("a", "b", "out")}, {}),
}

REFUSED = [
    "WithWhile", "CallsUnknown", "CallsNumpy", "WritesAttribute", "ReadsString", "ReadsUnknownName",
    "ReadsPreviousPoint", "ReturnsValue", "NestedPointLoops", "LoopsOverRange", "BitwiseOperator", "FloatIndex",
    "VariableIntegerPower", "WritesNeighbour", "ListComprehension", "TypeChangesInBranch", "BeyondTheGhostZone",
    "OtherShape",
]


def refused_grids(kernel_class):
    """Grids for a refused kernel: two 2-D grids (lookup tables 1-D), ghost depth 1."""
    names = kernel_class.kernel.__code__.co_varnames[1:kernel_class.kernel.__code__.co_argcount]
    return {name: default(1) if name == "table" else default(2) for name in names}


def constants(grids, self_constants):
    out = [("self.constants", [[k, v] for k, v in self_constants.items()])]
    for name, grid in grids.items():
        out.append((f"{name}.neighbor_definition", grid["neighbors"]))
        out.append((f"{name}.ghost_depth", grid["ghost"]))
    return out


def main():
    tree, kernels = load_modules()
    data = HERE / "data"
    data.mkdir(exist_ok=True)
    for name, (class_name, grids, self_constants) in KERNELS.items():
        kernel = getattr(kernels, class_name).kernel
        (data / f"{name}.tree").write_text(tree.function_tree(kernel, constants(grids, self_constants)))
    source = (HERE / "kernels.py").read_text().splitlines()
    lines = []
    for class_name in REFUSED:
        kernel_class = getattr(kernels, class_name)
        grids = refused_grids(kernel_class)
        if class_name == "BeyondTheGhostZone":
            grids["in_grid"]["neighbors"].append([[2, 0]])
        (data / f"{class_name}.tree").write_text(tree.function_tree(kernel_class.kernel, constants(grids, {})))
        first = kernel_class.kernel.__code__.co_firstlineno
        marked = next(i + 1 for i in range(first, len(source)) if source[i].endswith(("# unsupported", "# invalid")))
        status = "invalid" if source[marked - 1].endswith("# invalid") else "unsupported"
        lines.append(f"{class_name} {status} {marked}\n")
    (data / "refusals.txt").write_text("".join(lines))


if __name__ == "__main__":
    main()
