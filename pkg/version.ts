// Kept in step with package.json by hand at release time.
export const VERSION = '0.1.0';
