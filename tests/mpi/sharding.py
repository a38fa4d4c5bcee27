"""MPI worker: each rank lists its DistributedSampler indices for three epochs; rank 0 gathers
them and writes JSON to argv[1] for the test to check. argv[2] = dataset size, argv[3] = drop_last."""
import json
import sys

from minigrad import distributed as dist

dist.init_process_group()
path, n, drop_last = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
sampler = dist.DistributedSampler(range(n), shuffle=True, seed=5, drop_last=drop_last)
epochs = []
for epoch in range(3):
    sampler.set_epoch(epoch)
    epochs.append(list(sampler))
    assert len(epochs[-1]) == len(sampler)
gathered = dist.all_gather_object(epochs)  # gathered[rank][epoch] -> indices
if dist.get_rank() == 0:
    with open(path, "w") as f:
        json.dump(gathered, f)
