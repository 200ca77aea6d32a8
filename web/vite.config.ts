import { defineConfig } from "vite";

// The page talks to /graphql only; `npm run dev` proxies it to a local `cutis serve`.
export default defineConfig({
  server: {
    fs: { allow: [".."] }, // the operation documents live in ../graphql/operations
    proxy: { "/graphql": process.env.CUTIS_API ?? "http://127.0.0.1:8000" },
  },
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 800 },
});
