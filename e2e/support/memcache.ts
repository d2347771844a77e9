import net from "node:net";

/** Sends one memcached text command and reads until a terminal reply line. */
export function memcache(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    let buf = "";
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no reply to ${JSON.stringify(command)}; got ${JSON.stringify(buf)}`));
    }, 5000);
    sock.on("data", (d) => {
      buf += d.toString("latin1");
      if (/(^|\r\n)(END|STORED|NOT_STORED|DELETED|NOT_FOUND|ERROR|VERSION [^\r]*|CLIENT_ERROR [^\r]*|SERVER_ERROR [^\r]*)\r\n$/.test(buf)) {
        clearTimeout(timer);
        sock.end();
        resolve(buf);
      }
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.write(command);
  });
}
