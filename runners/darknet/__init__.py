"""DarkNet and Torch7 runner: .cfg + .weights and .t7 read by the runner's own code, run by OpenCV."""
