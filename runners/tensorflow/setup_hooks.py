"""tf-keras (the Keras 2 API that reads Keras 2 .h5 files) is installed without its dependencies:
it requires the full `tensorflow` wheel (572 MB) although `tensorflow-cpu` provides the same
modules. Its pin lives here and is part of the environment key."""

TF_KERAS = "tf-keras==2.21.0"


def post_install(ctx):
    from broker.envs import installer

    reqs = ctx.env_dir / "requirements-no-deps.txt"
    reqs.write_text(TF_KERAS + "\n")
    cmd = installer.install_command(
        ctx.spec, ctx.python, reqs, uv=installer.find_uv(), extra_args=list(ctx.install_args) + ["--no-deps"]
    )
    ctx.run(cmd)
    reqs.unlink()
