"""MMdnn's CoreML options, given to Emit or Save: input/output names, image inputs with channel
order and per-channel bias and scale, class labels.

    inputNames=a,b   outputNames=y          rename the model's features, in order
    imageInputNames=a                       inputs that become images (default: the first input,
                                            when any of the options below is given)
    isBGR=1  redBias=-123.7  greenBias=-116.8  blueBias=-103.9  grayBias=0  scale=0.017
    classInputPath=labels.txt               one label per line: the model becomes a classifier
    predictedFeatureName=classLabel         its label output
"""

from runners.common.errors import RunnerError

PREPROCESSING = ("isBGR", "redBias", "greenBias", "blueBias", "grayBias", "scale", "imageInputNames")
KNOWN = PREPROCESSING + ("inputNames", "outputNames", "classInputPath", "predictedFeatureName")


def _flag(value):
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _number(options, key, default):
    if key not in options or options[key] == "":
        return default
    try:
        return float(options[key])
    except ValueError:
        raise RunnerError("bad-option", "--%s takes a number, not %r" % (key, options[key]), hint="e.g. --%s 0.5" % key)


def _names(text):
    return [n.strip() for n in str(text).split(",") if n.strip()]


def apply(spec, options, path=""):
    """Apply the CoreML options (a str -> str mapping) to `spec` in place."""
    import coremltools as ct
    from coremltools.models.neural_network import NeuralNetworkBuilder

    options = {k: v for k, v in dict(options).items() if k in KNOWN}
    if not options:
        return spec
    for key, features in (("inputNames", spec.description.input), ("outputNames", spec.description.output)):
        if key in options:
            new = _names(options[key])
            old = [f.name for f in features]
            if len(new) > len(old):
                raise RunnerError(
                    "bad-option",
                    "--%s gives %d names for %d features %s" % (key, len(new), len(old), old),
                    file=path,
                )
            for a, b in zip(old, new):
                if a != b:
                    ct.utils.rename_feature(spec, a, b)
    inputs = [f.name for f in spec.description.input]
    if any(k in options for k in PREPROCESSING):
        names = _names(options.get("imageInputNames", "")) or inputs[:1]
        for n in names:
            if n not in inputs:
                raise RunnerError("bad-option", "no input '%s' to make an image (inputs: %s)" % (n, inputs), file=path)
            shape = [f for f in spec.description.input if f.name == n][0].type.multiArrayType.shape
            if len(shape) != 3 or shape[0] not in (1, 3):
                raise RunnerError(
                    "bad-option",
                    "input '%s' of shape %s cannot be an image: images have 1 or 3 channels" % (n, list(shape)),
                    file=path,
                    hint="drop the image options, or give them for an [N, 3, H, W] or [N, 1, H, W] input",
                )
        builder = NeuralNetworkBuilder(spec=spec)
        builder.set_pre_processing_parameters(
            image_input_names=names,
            is_bgr=_flag(options.get("isBGR", "0")),
            red_bias=_number(options, "redBias", 0.0),
            green_bias=_number(options, "greenBias", 0.0),
            blue_bias=_number(options, "blueBias", 0.0),
            gray_bias=_number(options, "grayBias", 0.0),
            image_scale=_number(options, "scale", 1.0),
        )
    if options.get("classInputPath"):
        _class_labels(spec, options, path)
    return spec


def _class_labels(spec, options, path):
    from coremltools.models.neural_network import NeuralNetworkBuilder

    label_file = options["classInputPath"]
    try:
        with open(label_file) as f:
            labels = [line.strip() for line in f if line.strip()]
    except OSError as exc:
        raise RunnerError("missing-file", "cannot read the class labels: %s" % exc.strerror, file=label_file)
    out = spec.description.output[0]
    size = 1
    for d in out.type.multiArrayType.shape:
        size *= d
    if len(labels) != size:
        raise RunnerError(
            "bad-option",
            "%d class labels for %d values of output '%s'" % (len(labels), size, out.name),
            file=label_file,
            hint="give one label per line, one per class",
        )
    if spec.WhichOneof("Type") == "neuralNetwork":  # becomes a classifier: same layers, same settings
        net = spec.neuralNetwork
        classifier = spec.neuralNetworkClassifier
        classifier.layers.extend(net.layers)
        classifier.preprocessing.extend(net.preprocessing)
        classifier.arrayInputShapeMapping = net.arrayInputShapeMapping
        classifier.imageInputShapeMapping = net.imageInputShapeMapping
    builder = NeuralNetworkBuilder(spec=spec)
    builder.set_class_labels(
        labels, predicted_feature_name=options.get("predictedFeatureName") or "classLabel", prediction_blob=out.name
    )
