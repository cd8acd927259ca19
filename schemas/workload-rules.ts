// Workload rules that span fields, checked after the schema passed.
import type { FieldError } from './validate.ts';
import type { WorkloadSpec } from './types.gen.ts';

export function checkWorkloadSpec(spec: WorkloadSpec, at: string): FieldError[] {
  const errors: FieldError[] = [];
  const ports = spec.ports ?? [];
  const portNames = new Set<string>();
  const portNumbers = new Set<number>();
  ports.forEach((port, i) => {
    if (port.name !== undefined) {
      if (portNames.has(port.name)) errors.push({ path: `${at}.ports[${i}].name`, message: `duplicate port name "${port.name}"` });
      portNames.add(port.name);
    }
    if (portNumbers.has(port.containerPort))
      errors.push({ path: `${at}.ports[${i}].containerPort`, message: `duplicate containerPort ${port.containerPort}` });
    portNumbers.add(port.containerPort);
  });
  const envNames = new Set<string>();
  (spec.env ?? []).forEach((env, i) => {
    if (envNames.has(env.name)) errors.push({ path: `${at}.env[${i}].name`, message: `duplicate environment variable "${env.name}"` });
    envNames.add(env.name);
  });
  const volumeNames = new Set<string>();
  (spec.volumes ?? []).forEach((volume, i) => {
    if (volumeNames.has(volume.name)) errors.push({ path: `${at}.volumes[${i}].name`, message: `duplicate volume "${volume.name}"` });
    volumeNames.add(volume.name);
  });
  if (spec.workingDir !== undefined && spec.image === undefined && !volumeUnder(spec, spec.workingDir)) {
    const mountPaths = (spec.volumes ?? []).map((v) => v.mountPath);
    errors.push({
      path: `${at}.workingDir`,
      message: `a process workload's working directory must be one of its volumes' mountPath or under one (${mountPaths.join(', ') || 'it declares no volumes'}): a process cannot choose a path on the agent's machine`,
    });
  }
  const probe = spec.healthCheck?.tcp ? ['tcp', spec.healthCheck.tcp.port] as const : spec.healthCheck?.http ? ['http', spec.healthCheck.http.port] as const : undefined;
  if (probe && typeof probe[1] === 'string' && !portNames.has(probe[1])) {
    errors.push({ path: `${at}.healthCheck.${probe[0]}.port`, message: `names no port in ${at}.ports (known: ${[...portNames].join(', ') || 'none'})` });
  }
  return errors;
}

/** The volume whose mountPath holds path, and the rest of path below it ('' for the mountPath itself). */
export function volumeUnder(spec: Pick<WorkloadSpec, 'volumes'>, path: string): { name: string; rest: string } | undefined {
  const trimmed = (p: string) => p.replace(/\/+$/, '') || '/';
  const target = trimmed(path);
  // The deepest mount wins, as in a filesystem: /data/logs under /data is that volume's.
  const volumes = [...(spec.volumes ?? [])].sort((a, b) => trimmed(b.mountPath).length - trimmed(a.mountPath).length);
  for (const volume of volumes) {
    const mount = trimmed(volume.mountPath);
    if (target === mount) return { name: volume.name, rest: '' };
    const prefix = mount === '/' ? '/' : `${mount}/`;
    if (target.startsWith(prefix)) return { name: volume.name, rest: target.slice(prefix.length) };
  }
  return undefined;
}
