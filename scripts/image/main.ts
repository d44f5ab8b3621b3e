// npm run image [-- --function] [--out DIR]
// Builds the Switchboard image (or, with --function, the echo function image of the e2e tests) as
// an OCI image-layout archive, without a container engine; prints its path, sizes and name.
// Import it with `ctr -n k8s.io images import FILE` or `kind load image-archive FILE`
// (docs/install.md, "The image").
import { parseArgs } from "node:util";
import { buildImage } from "./image.ts";

const USAGE = `usage: npm run image [-- --function] [--out DIR]
  --function   the echo function image (e2e/fixtures/echo-server.ts) instead of Switchboard
  --out DIR    where the archive goes (default .work/images)`;

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

const main = async (): Promise<number> => {
  let values: { function?: boolean; out?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: { function: { type: "boolean" }, out: { type: "string" }, help: { type: "boolean" } },
    }));
  } catch (err) {
    console.error(`image: ${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const built = await buildImage({
    kind: values.function ? "echo" : "switchboard",
    ...(values.out === undefined ? {} : { outDir: values.out }),
  });
  for (const layer of built.layers)
    console.log(
      `layer   ${layer.digest.slice(0, 19)}  ${mb(layer.size).padStart(9)} ${layer.cached ? "(cached)" : "(built) "}  ${layer.comment}`,
    );
  console.log(`image   ${built.name}`);
  console.log(`archive ${built.file}`);
  console.log(
    `size    ${mb(built.compressedSize)} compressed, ${mb(built.uncompressedSize)} uncompressed (archive ${mb(built.archiveSize)})`,
  );
  console.log(`digest  ${built.manifestDigest}   built in ${built.seconds.toFixed(1)} s`);
  return 0;
};

process.exitCode = await main();
