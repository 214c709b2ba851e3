// The daemon's own UDP server (servers/udp.js of statsd 0.9.0), with a
// larger receive buffer: a test sends its datagrams in bursts that the
// default buffer of about 200 KB (some 90 datagrams) could overflow while
// node is busy, and a datagram lost would look like a client's bug.
const dgram = require('dgram');

exports.start = function (config, callback) {
  const server = dgram.createSocket({type: 'udp4', recvBufferSize: 4 << 20}, callback);
  server.bind(config.port, config.address);
  this.server = server;
  return true;
};
