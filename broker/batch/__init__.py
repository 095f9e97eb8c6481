"""`mmbroker batch PLAN`: every model of a plan converted to every target, one Ray task per
(model, target) cell, resumable, the outcome written as a matrix (JSON, Markdown, HTML).

plan.py     the plan file (YAML or TOML) read into cells, each with the digest of its inputs
cell.py     what one Ray task does on a worker: the model's files from the object store, convert()
ray_run.py  Ray: start or join, files into the object store, tasks submitted, results as they finish
matrix.py   the matrix written: matrix.json, matrix.md, matrix.html
"""
