// Bundles the extension and vscode-languageclient into one file, so the .vsix carries no
// node_modules ("vsce package --no-dependencies") and loads fast.
import { build } from "esbuild";

await build({
  entryPoints: ["src/extension.ts"],
  bundle: true,
  outfile: "dist/extension.js",
  platform: "node",
  format: "cjs",
  target: "node18",
  external: ["vscode"],
  sourcemap: true,
  minify: process.argv.includes("--minify"),
  logLevel: "warning",
});
