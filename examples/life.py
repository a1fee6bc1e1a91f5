"""Conway's game of life through an integer lookup table (a glider crosses the board)."""
import numpy as np

from asp.stencil import StencilGrid, StencilKernel


class Life(StencilKernel):
    def kernel(self, in_grid, rules, out_grid):
        for x in out_grid.interior_points():
            alive = 0
            for y in in_grid.neighbors(x, 1):
                alive = alive + in_grid[y]
            out_grid[x] = rules[int(alive + 9 * in_grid[x])]


def main(n=12, generations=8):
    board = StencilGrid([n, n], dtype=np.int64)
    board.neighbor_definition[1] = [(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1) if (a, b) != (0, 0)]
    for i, j in [(1, 2), (2, 3), (3, 1), (3, 2), (3, 3)]:
        board[(i, j)] = 1
    table = np.zeros(18, dtype=np.int64)
    table[3] = table[9 + 2] = table[9 + 3] = 1  # born with 3 neighbours, survives with 2 or 3
    rules, life = StencilGrid.from_array(table), Life()
    for _ in range(generations):
        nxt = StencilGrid([n, n], dtype=np.int64)
        nxt.neighbor_definition = board.neighbor_definition
        life.kernel(board, rules, nxt)
        board = nxt
    print("\n".join("".join("#" if v else "." for v in row) for row in board.data))
    print(f"(ran on {life.last_call.backend})")


if __name__ == "__main__":
    main()
