import type { Catalog } from '../../shared/api.js';

// The built-in example's input (LeNet-5 takes digits padded to 32x32).
export const DEFAULT_SHAPE: [number, number, number] = [32, 32, 1];

/**
 * The catalog (architectures, methods, datasets) per teacher input shape and
 * class count, measured once by a worker and kept; a failed load is forgotten
 * so the next request tries again.
 */
export class CatalogCache {
  private readonly catalogs = new Map<string, Promise<Catalog>>();

  constructor(
    private readonly load: (inputShape: [number, number, number], numClasses: number) => Promise<Catalog>,
  ) {}

  get(inputShape: [number, number, number], numClasses: number): Promise<Catalog> {
    const key = `${inputShape.join('x')}/${numClasses}`;
    let found = this.catalogs.get(key);
    if (!found) {
      found = this.load(inputShape, numClasses);
      found.catch(() => this.catalogs.delete(key));
      this.catalogs.set(key, found);
    }
    return found;
  }
}
