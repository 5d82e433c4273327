// Draws an otpauth:// URI as a QR code on a canvas, in the page: the secret
// never leaves the browser for an image service.
import qrcode from './vendor/qrcode.js';

export function drawQR(canvas, text) {
  const qr = qrcode(0, 'M'); // the smallest version that holds the text
  qr.addData(text);
  qr.make();
  const n = qr.getModuleCount();
  const quiet = 4; // the quiet zone scanners need, in modules
  const scale = 5;
  const size = (n + quiet * 2) * scale;
  canvas.width = size;
  canvas.height = size;
  const g = canvas.getContext('2d');
  g.fillStyle = '#fff';
  g.fillRect(0, 0, size, size);
  g.fillStyle = '#000';
  for (let r = 0; r < n; r += 1) {
    for (let c = 0; c < n; c += 1) {
      if (qr.isDark(r, c)) g.fillRect((c + quiet) * scale, (r + quiet) * scale, scale, scale);
    }
  }
  canvas.dataset.modules = String(n);
}
