"""Run: a benchmark run, from one cell to the whole grid, and the tuning before it.

Modules: ``cell`` (one cell end to end, the same for every retriever, through its stages),
``prepare`` (a cell's first stage: the split and the retriever's inputs), ``evaluate``
(exact ranks into metrics per segment and ranking), ``result`` (the cell's record),
``serving`` (the serving retrievers timed side by side), ``rundir`` (the resumable run
directory), ``gemm`` (this machine's TensorFlow GEMM rate, recorded beside the machine),
``tunespace`` (the search space and tuning settings, without Optuna), ``tunetrial`` (one
Optuna trial: drawn, trained, scored), ``tunestudy`` (one study and its storage), ``tuning``
(every study of a tuning: the tuned file's document), ``tuned`` (the tuned file, read
without Optuna or TensorFlow), ``budget`` (the budget curve: scores after every epoch),
``datascale`` (the MovieLens-25M-shaped dataset through the whole harness),
``historyscale`` (the history grid's feature pass and scorers at 100k and 25M's shape),
``settings`` (a
grid run's options), ``gridfile`` (the same from a TOML grid file), ``session`` (one grid
run: data, run directory, resume), ``sessionend`` (its results published, or how to
resume), ``gridcell`` (a grid cell's benchmarks,
the same under pytest and on a cluster worker), ``cluster`` (the cells on a Dask cluster),
``reuse`` (a deterministic retriever on a deterministic split computed once),
``clusterscale`` (the quick grid serially and on a local cluster, side by side),
``projection`` (the full grid and tuning at 25M's shape on W workers, on paper),
``publish`` (its benchmark entries and header, and its results written all at once),
``progress`` (the progress bar every long command shows on stderr).
May import: everything below (``data``, ``evaluation``, ``model``, ``record``); never
``report``.
"""
