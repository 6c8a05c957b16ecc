/**
 * What the deployed bundles get for the `form-data` package (serverless.yml custom.esbuild.alias).
 * axios imports it for multipart bodies the Vault client never sends; the package brings mime-types
 * and mime-db (~200 KB) into every Vault function. Node's own FormData serves axios just as well.
 */
export default globalThis.FormData;
