"""Recording a run: the recorder (scheduling, events, control), the HDF5 store (layout, locks,
crash recovery), the ordered file under it and the freeze watch.
"""
