// Kubernetes Node names: what an alert label must look like before nodeheal treats it as one.

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Whether `value` is a valid Kubernetes object name of the DNS-1123 subdomain kind (what Node
 * names are).
 *
 * - 1 to 253 characters of lowercase alphanumerics, `-` and `.`.
 * - Each dot-separated label is 1 to 63 characters and starts and ends with an alphanumeric.
 */
export function isDns1123Subdomain(value: string): boolean {
  if (value.length === 0 || value.length > 253) return false;
  return value.split('.').every((label) => label.length <= 63 && DNS1123_LABEL.test(label));
}
