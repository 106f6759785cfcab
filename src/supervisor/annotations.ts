// The mark the CLI puts on the pods it starts, and the supervisor looks for: the Pod after
// defaults, as JSON. Kept apart so client commands need not load the supervisor.
export const POD_SPEC_ANNOTATION = 'keelson.dev/pod-spec';
/** Label telling init containers from app containers. */
export const CONTAINER_KIND_LABEL = 'keelson.dev/container-kind';
/** On an init container's last allowed attempt: its failure is Init:Error, not Init:CrashLoopBackOff. */
export const INIT_FINAL_ANNOTATION = 'keelson.dev/init-final-attempt';
