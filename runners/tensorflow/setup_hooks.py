"""tf-keras (the Keras 2 API that reads Keras 2 .h5 files) is installed without its dependencies:
it requires the full `tensorflow` wheel (572 MB) although `tensorflow-cpu` provides the same
modules. Its pin lives here and is part of the environment key."""

TF_KERAS = "tf-keras==2.21.0"


def post_install(ctx):
    ctx.install([TF_KERAS], ["--no-deps"])
