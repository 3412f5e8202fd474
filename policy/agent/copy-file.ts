/**
 * CopyFile pre-processing: the policy sees a PolicyCopyFileRequest (file type from the mode bits, the symlink
 * target decoded from `data` for symlinks) and never the file contents.
 */
export type PolicyFileType = 'Unknown' | 'Regular' | 'Directory' | 'Symlink';

export interface CopyFileRequestLike {
  path?: string;
  file_size?: number | bigint;
  file_mode?: number;
  dir_mode?: number;
  uid?: number;
  gid?: number;
  offset?: number | bigint;
  data?: Uint8Array | number[];
}

export interface PolicyCopyFileRequest {
  path: string;
  file_type: PolicyFileType;
  symlink_target: string | null;
  file_size: number;
  file_mode: number;
  dir_mode: number;
  uid: number;
  gid: number;
  offset: number;
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

export function fileTypeOf(mode: number): PolicyFileType {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return 'Regular';
    case S_IFDIR:
      return 'Directory';
    case S_IFLNK:
      return 'Symlink';
    default:
      return 'Unknown';
  }
}

/** Builds the policy input for a CopyFileRequest; throws if a symlink target is not valid UTF-8. */
export function toPolicyCopyFileRequest(req: CopyFileRequestLike): PolicyCopyFileRequest {
  const mode = req.file_mode ?? 0;
  const file_type = fileTypeOf(mode);
  let symlink_target: string | null = null;
  if (file_type === 'Symlink') {
    const bytes = req.data instanceof Uint8Array ? req.data : Uint8Array.from(req.data ?? []);
    try {
      symlink_target = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new Error(`CopyFileRequest for ${JSON.stringify(req.path ?? '')}: symlink target is not valid UTF-8`);
    }
  }
  return {
    path: req.path ?? '',
    file_type,
    symlink_target,
    file_size: Number(req.file_size ?? 0),
    file_mode: mode,
    dir_mode: req.dir_mode ?? 0,
    uid: req.uid ?? 0,
    gid: req.gid ?? 0,
    offset: Number(req.offset ?? 0),
  };
}
