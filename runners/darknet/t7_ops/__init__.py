"""Torch7 nn classes -> IR: one converter per class, registered with `T7.register`."""
