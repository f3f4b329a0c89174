/**
 * The soak's randomness, from one seed (`--seed`, printed at start), so a failed run's choices can be
 * made again. mulberry32: small, fast, and good enough to pick cases, actions and pauses.
 */
let state = 0;

/** Starts the sequence over from `seed` (an unsigned 32-bit integer). */
export function seedRandom(seed: number): void {
  state = seed >>> 0;
}

/** A number in [0, 1), as Math.random gives. */
export function random(): number {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
}

/** A seed for a run that names none. */
export const freshSeed = (): number => Math.floor(Math.random() * 4_294_967_296);
