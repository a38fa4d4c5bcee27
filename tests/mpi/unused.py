"""MPI worker: the plain loop (no synchronize_gradients) on a model whose head only rank 0
uses. Rank 0's hooks all fire, so it all-reduces inside backward and waits there; the other
ranks' hooks do not, so they go on and raise at their next forward. The job must end within
seconds with their error, not hang."""
import minigrad
from minigrad import distributed as dist
from minigrad import nn, optim

dist.init_process_group()
rank = dist.get_rank()


class RankZeroHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.body, self.head = nn.Linear(3, 2), nn.Linear(2, 1)

    def forward(self, x):
        h = self.body(x)
        return self.head(h) if rank == 0 else h


model = dist.DistributedDataParallel(RankZeroHead())
optimizer = optim.SGD(model.parameters(), lr=0.1)
for _ in range(3):
    optimizer.zero_grad()
    model(minigrad.ones(4, 3)).sum().backward()
    optimizer.step()
print(f"unreachable: rank {rank} trained although rank 0 waits in an all-reduce", flush=True)
