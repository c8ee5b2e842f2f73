"""Shared test set-up: one torch thread, as in the chapters (two threads on a loaded 2-core
machine make every small network many times slower, and results are compared bit for bit)."""
import torch

torch.set_num_threads(1)
