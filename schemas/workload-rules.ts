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
  const probe = spec.healthCheck?.tcp ? ['tcp', spec.healthCheck.tcp.port] as const : spec.healthCheck?.http ? ['http', spec.healthCheck.http.port] as const : undefined;
  if (probe && typeof probe[1] === 'string' && !portNames.has(probe[1])) {
    errors.push({ path: `${at}.healthCheck.${probe[0]}.port`, message: `names no port in ${at}.ports (known: ${[...portNames].join(', ') || 'none'})` });
  }
  return errors;
}
