// Preloaded (node -r) into supergateway, which has no option for the listen
// address and would otherwise listen on every interface: a listen() given a
// port but no host listens on 127.0.0.1 only.
'use strict';
const net = require('node:net');
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function (...args) {
  const a0 = args[0];
  if (typeof a0 === 'number' || (typeof a0 === 'string' && /^\d+$/.test(a0))) {
    if (typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1');
  } else if (a0 && typeof a0 === 'object' && !a0.path && a0.host === undefined) {
    args[0] = { ...a0, host: '127.0.0.1' };
  }
  return listen.apply(this, args);
};
