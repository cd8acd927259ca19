// The label and finalizers Lattice itself puts on objects. Every floor reads them (the CLI and the
// control plane select an instance's workload by the label, the agent gateway and the apply path
// add or release the finalizers), so they live here rather than with the controller that sets them.

/** On every Instance: the name of the Workload it runs a replica of. */
export const WORKLOAD_LABEL = 'lattice.dev/workload';

/** On an Instance until its agent confirms the process or container is gone. */
export const INSTANCE_FINALIZER = 'lattice.dev/stopped-on-agent';

/** On a Workload until its instances are stopped. */
export const WORKLOAD_FINALIZER = 'lattice.dev/instances-stopped';
