// Making sure an image is there: pulled when absent, with progress summed over its layers. A
// failure carries a reason a person can act on ("image not found: …", "cannot pull …").
import type Docker from 'dockerode';

export class ImagePullError extends Error {
  constructor(
    readonly image: string,
    reason: string,
  ) {
    super(reason);
    this.name = 'ImagePullError';
  }
}

interface PullEvent {
  id?: string;
  status?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

/** "pulling postgres:16: 12.3 MB of 27.0 MB (3 layers)" from the latest event of every layer. */
export function describePullProgress(image: string, layers: ReadonlyMap<string, { current: number; total: number }>): string {
  let current = 0;
  let total = 0;
  for (const layer of layers.values()) {
    current += layer.current;
    total += layer.total;
  }
  if (total === 0) return `pulling ${image}`;
  return `pulling ${image}: ${megabytes(current)} of ${megabytes(total)} (${layers.size} layer${layers.size === 1 ? '' : 's'})`;
}

/** Why a pull failed, in words: docker's 404s and "manifest unknown" mean the image does not exist. */
export function pullFailureReason(image: string, message: string, statusCode?: number): string {
  const detail = message.replace(/^\(HTTP code \d+\) [a-z ]+ - /, '').trim();
  if (statusCode === 404 || /not found|manifest unknown|does not exist|repository does not exist/i.test(detail)) return `image not found: ${image} (${detail})`;
  return `cannot pull image ${image}: ${detail}`;
}

async function present(docker: Docker, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect();
    return true;
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return false;
    throw error;
  }
}

/**
 * Pulls `image` unless it is present. onProgress gets a summary at most every progressMs; the
 * returned promise rejects with an ImagePullError.
 */
export async function ensureImage(docker: Docker, image: string, onProgress: (message: string) => void, progressMs = 1000): Promise<'present' | 'pulled'> {
  if (await present(docker, image)) return 'present';
  onProgress(`pulling ${image}`);
  let stream: NodeJS.ReadableStream;
  try {
    stream = (await docker.pull(image)) as NodeJS.ReadableStream;
  } catch (error) {
    const e = error as { message?: string; statusCode?: number; json?: { message?: string } };
    throw new ImagePullError(image, pullFailureReason(image, e.json?.message ?? e.message ?? String(error), e.statusCode));
  }
  const layers = new Map<string, { current: number; total: number }>();
  let last = 0;
  await new Promise<void>((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (error: Error | null) => (error ? reject(new ImagePullError(image, pullFailureReason(image, error.message))) : resolve()),
      (event: PullEvent) => {
        if (event.error) return; // followProgress reports it as the final error
        const detail = event.progressDetail;
        if (event.id && detail?.total) layers.set(event.id, { current: detail.current ?? 0, total: detail.total });
        if (event.id && /complete|already exists/i.test(event.status ?? '')) {
          const layer = layers.get(event.id);
          if (layer) layer.current = layer.total;
        }
        const now = Date.now();
        if (now - last >= progressMs) {
          last = now;
          onProgress(describePullProgress(image, layers));
        }
      },
    );
  });
  return 'pulled';
}
