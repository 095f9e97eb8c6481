"""The PyTorch runner: parses .pt2 / TorchScript / state_dict models into the IR through
torch.onnx, emits readable nn.Module source from the IR, saves .pth / .pt2 and runs models."""
