// The `type: file` connector's options: the zod schema validated at config load (snake_case,
// as written in YAML) and its defaults. The README's options table mirrors this file.
import { z } from 'zod';

const fieldNames = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]);

export const jsonFieldsSchema = z
  .object({
    timestamp: fieldNames.default(['timestamp', 'time', '@timestamp', 'ts']),
    message: fieldNames.default(['message', 'msg']),
    host: fieldNames.default(['host', 'hostname']),
    service: fieldNames.default(['service', 'app', 'name']),
    severity: fieldNames.default(['severity', 'level']),
  })
  .strict();

const regex = z.string().refine((s) => {
  try {
    new RegExp(s);
    return true;
  } catch {
    return false;
  }
}, 'must be a valid regular expression');

export const fileOptionsSchema = z
  .object({
    /** Files to tail: globs (picomatch syntax) or plain paths; relative ones resolve against the working directory. */
    paths: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((p) => (Array.isArray(p) ? p : [p])),
    /** Globs of files never to tail (matched against the full path). */
    exclude: z.array(z.string().min(1)).default([]),
    /** Poll file stats instead of inotify (NFS, some container mounts). */
    poll: z.boolean().default(false),
    /** Poll interval when `poll: true`. */
    poll_interval_ms: z.number().int().min(10).default(250),
    /** Where to start in files present at the very first start: `end` (only new lines) or `beginning`. */
    start_at: z.enum(['end', 'beginning']).default('end'),
    format: z.enum(['syslog', 'plain', 'json']).default('syslog'),
    /** `format: json`: which fields hold the timestamp, message, host, service and severity (first present wins). */
    json_fields: jsonFieldsSchema.default(() => jsonFieldsSchema.parse({})),
    multiline: z
      .object({
        /** Regular expression a line must match to start a new event. */
        start: regex,
        max_lines: z.number().int().min(1).default(500),
        /** An event still open after this long without a new line is emitted. */
        flush_ms: z.number().int().min(1).default(1000),
      })
      .strict()
      .optional(),
    /** Longer lines are cut to this many bytes and flagged (`metadata.truncated`), never dropped. */
    max_line_bytes: z.number().int().min(16).default(65_536),
    /** A last line without its newline is emitted anyway after this long. */
    partial_line_timeout_ms: z.number().int().min(1).default(5000),
    /** A renamed or deleted file is read until it has not grown for this long, then released. */
    rotate_wait_ms: z.number().int().min(0).default(5000),
    /** Full rescan of the globs and stat of every tracked file (the safety net under file events). */
    scan_interval_ms: z.number().int().min(10).default(1000),
    /** Cap on file descriptors held open; idle files are closed and reopened by identity. */
    max_open_files: z.number().int().min(1).default(256),
    /** Bytes at the start of a file hashed into its identity (detects inode reuse and replaced content). */
    fingerprint_bytes: z.number().int().min(16).max(65_536).default(1024),
    /** Override the host of every event (default: from the syslog header, else none). */
    host: z.string().min(1).optional(),
    /** Override the service of every event. */
    service: z.string().min(1).optional(),
  })
  .strict();

export type FileOptions = z.output<typeof fileOptionsSchema>;
export type JsonFields = z.output<typeof jsonFieldsSchema>;
