// Kubernetes resource quantities ("500m", "1.5", "128Mi", "1G", "2e3") as numbers.
import { InvalidArgumentError } from '../errors.js';

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const QUANTITY = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])|[eE]([+-]?\d+))?$/;

/** The quantity's value in base units (bytes, cores); `field` names it in errors. */
export function parseQuantity(value: string | number, field: string): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new InvalidArgumentError(`${field}: ${value} is not a valid quantity`);
    return value;
  }
  const m = QUANTITY.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`${field}: "${value}" is not a valid quantity (e.g. 500m, 1.5, 128Mi, 1G)`);
  const [, num, suffix, exponent] = m;
  const base = Number(num);
  const scale = exponent !== undefined ? 10 ** Number(exponent) : (BINARY[suffix ?? ''] ?? DECIMAL[suffix ?? ''] ?? 1);
  const result = base * scale;
  if (result < 0) throw new InvalidArgumentError(`${field}: "${value}" must not be negative`);
  return result;
}

/** CPU as millicores, rounded up as kubelet does. */
export function cpuMillis(value: string | number, field: string): number {
  return Math.ceil(parseQuantity(value, field) * 1000 - 1e-9);
}

/** Memory and storage as whole bytes. */
export function bytesOf(value: string | number, field: string): number {
  return Math.ceil(parseQuantity(value, field) - 1e-9);
}
