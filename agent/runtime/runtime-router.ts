// The runtimes of one agent behind one interface: an instance with an image goes to docker, one
// with a command alone to the process runtime. An agent with Docker offers both, so the same
// machine runs examples/hello.yaml (a process) and examples/postgres.yaml (a container).
import type { AgentRuntime, DeploySpec, InstanceRuntime, InstanceStats, LogOptions, ObservedInstance, Runtime, RuntimeName, StopOptions } from './types.ts';

export class RuntimeRouter implements AgentRuntime {
  readonly runtimes: readonly RuntimeName[];

  constructor(private readonly members: readonly Runtime[]) {
    if (members.length === 0) throw new Error('an agent needs at least one runtime');
    this.runtimes = members.map((m) => m.name);
  }

  private forSpec(spec: DeploySpec): Runtime {
    const wanted: RuntimeName = spec.template.image !== undefined ? 'docker' : 'process';
    // Without the runtime it needs, the first one refuses the instance with a reason.
    return this.members.find((m) => m.name === wanted) ?? this.members[0]!;
  }

  private holding(uid: string): InstanceRuntime | undefined {
    return this.members.find((m) => m.specOf(uid) !== undefined);
  }

  async deploy(spec: DeploySpec): Promise<void> {
    const target = this.forSpec(spec);
    // An instance moving between runtimes (its template changed from command to image) stops where it ran.
    const current = this.holding(spec.uid);
    if (current && current !== target) await current.stop(spec.uid);
    await target.deploy(spec);
  }

  async stop(uid: string, options?: StopOptions): Promise<void> {
    await this.holding(uid)?.stop(uid, options);
  }

  list(): ObservedInstance[] {
    return this.members.flatMap((m) => m.list());
  }

  specOf(uid: string): DeploySpec | undefined {
    return this.holding(uid)?.specOf(uid);
  }

  onChange(listener: (instance: ObservedInstance) => void): () => void {
    const unsubscribe = this.members.map((m) => m.onChange(listener));
    return () => unsubscribe.forEach((fn) => fn());
  }

  logs(uid: string, options?: LogOptions): AsyncIterable<string> {
    const runtime = this.holding(uid);
    if (!runtime) {
      return (async function* () {
        throw new Error(`unknown instance ${uid}`);
      })();
    }
    return runtime.logs(uid, options);
  }

  stats(uid: string): Promise<InstanceStats> {
    const runtime = this.holding(uid);
    return runtime ? runtime.stats(uid) : Promise.reject(new Error(`unknown instance ${uid}`));
  }

  async close(): Promise<void> {
    await Promise.all(this.members.map((m) => m.close()));
  }
}
