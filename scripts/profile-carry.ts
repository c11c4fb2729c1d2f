/**
 * Research helper for docs/benchmark.md "Profile transfer": carry a sensitivity profile over to the
 * schedule of another profile (another step count) by one of the two methods the package has, and
 * write it as a profile file that budget mode can use without `resample=true`:
 *
 *   npx tsx scripts/profile-carry.ts FROM.json LIKE.json OUT.json [nearest|interpolate]
 *
 * `nearest` copies J_x and J_t from the nearest calibrated timestep (the ε rule's carry-over and the
 * old budget-mode one); `interpolate` is what budget mode's `resample=true` does (J_x interpolated, J_t
 * averaged over each step's interval). LIKE only provides the timesteps (e.g. a profile recalibrated
 * at the target step count).
 */
import { resampleProfile, transferProfile } from "../ts/sensitivity/profile-carry.js";
import { loadProfile, saveProfile } from "../ts/sensitivity/profile-files.js";

const [from, like, out, method = "nearest"] = process.argv.slice(2);
if (from === undefined || like === undefined || out === undefined || (method !== "nearest" && method !== "interpolate")) {
  console.error("usage: npx tsx scripts/profile-carry.ts FROM.json LIKE.json OUT.json [nearest|interpolate]");
  process.exit(2);
}
const source = await loadProfile(from);
const target = await loadProfile(like);
const carried = method === "nearest" ? resampleProfile(source, target.timesteps) : transferProfile(source, target.timesteps);
// keep what the target profile is valid for (model, scheduler, shape), so no other check needs forcing
await saveProfile(out, { ...carried, validFor: { ...source.validFor, ...target.validFor } });
console.log(`${out}: ${from} (${source.timesteps.length} timesteps) carried to ${target.timesteps.length} timesteps by ${method}`);
