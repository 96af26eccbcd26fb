/**
 * `-W`: the bind password from the terminal without echo, as ldapsearch prompts for it; when
 * stdin is not a terminal (a pipe, a file), its first line. The password is never echoed,
 * logged, or kept anywhere but the returned string.
 */

/** Reads the first line of a non-terminal stdin (without its line ending). */
function firstLine(input: NodeJS.ReadStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const done = (text: string) => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', reject);
      input.pause();
      // A reader waiting on stdin would keep the process alive.
      input.unref?.();
      resolve(text.replace(/\r$/, ''));
    };
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      const text = Buffer.concat(chunks).toString('utf8');
      const nl = text.indexOf('\n');
      if (nl >= 0) done(text.slice(0, nl));
    };
    const onEnd = () => done(Buffer.concat(chunks).toString('utf8'));
    input.on('data', onData);
    input.once('end', onEnd);
    input.once('error', reject);
  });
}

/** Prompts on the terminal with echo off; Ctrl-C exits 130, Ctrl-D ends the line. */
function fromTerminal(input: NodeJS.ReadStream, prompt: NodeJS.WriteStream): Promise<string> {
  return new Promise((resolve) => {
    prompt.write('Enter LDAP Password: ');
    input.setRawMode(true);
    input.resume();
    let password = '';
    const finish = () => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      input.unref?.();
      prompt.write('\n');
      resolve(password);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return finish();
        if (ch === '\u0003') {
          input.setRawMode(false);
          prompt.write('\n');
          process.exit(130);
        }
        if (ch === '\u007f' || ch === '\b') password = [...password].slice(0, -1).join('');
        else if (ch === '\u0015')
          password = ''; // Ctrl-U
        else if (ch >= ' ') password += ch;
      }
    };
    input.on('data', onData);
  });
}

/** The password for -W: prompted for on a terminal, else the first line of stdin. */
export function readPassword(
  input: NodeJS.ReadStream = process.stdin,
  prompt: NodeJS.WriteStream = process.stderr,
): Promise<string> {
  return input.isTTY ? fromTerminal(input, prompt) : firstLine(input);
}
