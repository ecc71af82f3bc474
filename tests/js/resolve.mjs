// The SDK's published dist imports its own files without extensions ("./http/client"),
// which bundlers resolve and plain Node does not: try ".js", then "/index.js".
export async function resolve(specifier, context, next) {
  try {
    return await next(specifier, context);
  } catch (error) {
    const relative = specifier.startsWith("./") || specifier.startsWith("../");
    const missing = ["ERR_MODULE_NOT_FOUND", "ERR_UNSUPPORTED_DIR_IMPORT"].includes(error.code);
    if (!relative || !missing) throw error;
    for (const suffix of [".js", "/index.js"]) {
      try {
        return await next(specifier + suffix, context);
      } catch {
        // the next suffix, else the original error
      }
    }
    throw error;
  }
}
