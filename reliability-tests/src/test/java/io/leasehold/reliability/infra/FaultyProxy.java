package io.leasehold.reliability.infra;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small in-JVM TCP proxy on a free loopback port, forwarding to a loopback target port, with
 * faults switched at run time. Plain blocking sockets: one accept thread, two pump threads per
 * connection (daemon threads).
 *
 * <ul>
 * <li>{@link #pass()} / {@link #heal()}: forward both ways.</li>
 * <li>{@link #cut()}: close every connection; new ones are accepted and closed at once.</li>
 * <li>{@link #blackhole()}: sockets stay open, nothing is forwarded either way; bytes are held
 * (not read further, so the sender's buffers fill as in a real partition) and delivered after
 * {@link #heal()}.</li>
 * <li>{@link #dropReplies()}: client to server is forwarded, server to client bytes are read and
 * discarded, so a statement commits while its reply never arrives. A connection that lost bytes
 * is closed by {@link #heal()} (its protocol stream is broken, as TCP would reset it).</li>
 * <li>{@link #dropRepliesWhenClientSends(String)}: switches to {@code dropReplies} at the moment
 * a client sends a chunk containing the marker (for example a piece of SQL), before forwarding
 * it: the statement runs, its reply is lost.</li>
 * <li>{@link #holdReplies()}: client to server is forwarded, server to client bytes are held
 * (not lost) until {@link #heal()}: a statement runs while its reply waits.</li>
 * <li>{@link #switchWhenClientSends(String, Mode)}: the one-shot trigger for any mode, for
 * example {@code BLACKHOLE} to hold a statement back before the server sees it.</li>
 * </ul>
 */
public final class FaultyProxy implements AutoCloseable {

	/** What the proxy does with traffic. */
	public enum Mode {
		PASS, CUT, BLACKHOLE, DROP_REPLIES, HOLD_REPLIES
	}

	private final int targetPort;

	private final ServerSocket server;

	private final Set<Link> links = ConcurrentHashMap.newKeySet();

	private final Object modeLock = new Object();

	private final AtomicInteger accepted = new AtomicInteger();

	private final Thread acceptor;

	private volatile Mode mode = Mode.PASS;

	private volatile byte[] trigger;

	private volatile Mode triggerMode = Mode.DROP_REPLIES;

	private volatile CountDownLatch triggered = new CountDownLatch(1);

	private volatile boolean closed;

	/** Listens on a free loopback port; forwards to 127.0.0.1:{@code targetPort}. */
	public FaultyProxy(int targetPort) {
		this.targetPort = targetPort;
		try {
			this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
		}
		catch (IOException ex) {
			throw new IllegalStateException("cannot listen on loopback", ex);
		}
		this.acceptor = new Thread(this::acceptLoop, "faulty-proxy-" + port() + "-accept");
		this.acceptor.setDaemon(true);
		this.acceptor.start();
	}

	/** The port clients connect to. */
	public int port() {
		return this.server.getLocalPort();
	}

	public int targetPort() {
		return this.targetPort;
	}

	public Mode mode() {
		return this.mode;
	}

	/** {@code jdbc:postgresql://127.0.0.1:<proxy port>/<database>?user=postgres}. */
	public String jdbcUrl(String database) {
		return "jdbc:postgresql://127.0.0.1:" + port() + "/" + database + "?user=" + PostgresServer.USER;
	}

	/** Connections currently open through the proxy. */
	public int openConnections() {
		return this.links.size();
	}

	/** Connections accepted since the proxy started (including those closed by a cut). */
	public int acceptedConnections() {
		return this.accepted.get();
	}

	/** Forward both ways (also: the fault is healed). */
	public void pass() {
		heal();
	}

	/** Back to forwarding both ways; held bytes flow, connections that lost bytes are closed. */
	public void heal() {
		setMode(Mode.PASS);
		for (Link link : this.links) {
			if (link.lostBytes) {
				link.close();
			}
		}
	}

	/** Closes every connection; new ones are closed as soon as accepted, until {@link #heal()}. */
	public void cut() {
		setMode(Mode.CUT);
		this.links.forEach(Link::close);
	}

	/** Forwards nothing in either direction, keeping every socket open, until {@link #heal()}. */
	public void blackhole() {
		setMode(Mode.BLACKHOLE);
	}

	/** Forwards client to server; discards server to client, until {@link #heal()}. */
	public void dropReplies() {
		setMode(Mode.DROP_REPLIES);
	}

	/**
	 * Arms a one-shot trigger: the first client chunk containing {@code marker} (UTF-8) switches
	 * the proxy to {@link #dropReplies()} before that chunk is forwarded. The marker is matched
	 * within one read (a PostgreSQL query message normally arrives in one).
	 */
	public void dropRepliesWhenClientSends(String marker) {
		switchWhenClientSends(marker, Mode.DROP_REPLIES);
	}

	/** Forwards client to server; holds server to client bytes (delivered by {@link #heal()}). */
	public void holdReplies() {
		setMode(Mode.HOLD_REPLIES);
	}

	/**
	 * Arms a one-shot trigger like {@link #dropRepliesWhenClientSends(String)} that switches to
	 * the given mode; with {@code BLACKHOLE} the triggering chunk itself is held until
	 * {@link #heal()}, with {@code HOLD_REPLIES} it is forwarded and its reply held.
	 */
	public void switchWhenClientSends(String marker, Mode newMode) {
		synchronized (this.modeLock) {
			this.triggered = new CountDownLatch(1);
			this.triggerMode = newMode;
			this.trigger = marker.getBytes(StandardCharsets.UTF_8);
		}
	}

	/** Waits until the armed trigger fired; false on timeout. */
	public boolean awaitTriggered(Duration timeout) throws InterruptedException {
		return this.triggered.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
	}

	/** Stops listening, closes every connection. Idempotent. */
	@Override
	public void close() {
		this.closed = true;
		synchronized (this.modeLock) {
			this.modeLock.notifyAll();
		}
		try {
			this.server.close();
		}
		catch (IOException ignored) {
			// closing anyway
		}
		this.links.forEach(Link::close);
		try {
			this.acceptor.join(5000);
		}
		catch (InterruptedException ex) {
			Thread.currentThread().interrupt();
		}
	}

	@Override
	public String toString() {
		return "FaultyProxy[127.0.0.1:" + port() + " -> " + this.targetPort + " " + this.mode + "]";
	}

	private void setMode(Mode newMode) {
		synchronized (this.modeLock) {
			this.mode = newMode;
			this.modeLock.notifyAll();
		}
	}

	private void acceptLoop() {
		while (!this.closed) {
			Socket client;
			try {
				client = this.server.accept();
			}
			catch (IOException ex) {
				return; // closed
			}
			this.accepted.incrementAndGet();
			if (this.mode == Mode.CUT || this.closed) {
				closeQuietly(client);
				continue;
			}
			Socket upstream = new Socket();
			try {
				client.setTcpNoDelay(true);
				upstream.setTcpNoDelay(true);
				upstream.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), this.targetPort), 5000);
			}
			catch (IOException ex) {
				closeQuietly(client);
				closeQuietly(upstream);
				continue;
			}
			Link link = new Link(client, upstream);
			this.links.add(link);
			link.start();
		}
	}

	/**
	 * Blocks while the mode holds traffic (blackhole); false when the link should stop (cut,
	 * closed).
	 */
	private boolean awaitForwarding(Link link, boolean request) {
		synchronized (this.modeLock) {
			while ((this.mode == Mode.BLACKHOLE || (this.mode == Mode.HOLD_REPLIES && !request)) && !this.closed
					&& !link.closed) {
				try {
					this.modeLock.wait();
				}
				catch (InterruptedException ex) {
					Thread.currentThread().interrupt();
					return false;
				}
			}
			return this.mode != Mode.CUT && !this.closed && !link.closed;
		}
	}

	private void checkTrigger(byte[] buffer, int length) {
		byte[] marker = this.trigger;
		if (marker != null && indexOf(buffer, length, marker) >= 0) {
			synchronized (this.modeLock) {
				if (this.trigger == marker) {
					this.trigger = null;
					this.mode = this.triggerMode;
					this.modeLock.notifyAll();
					this.triggered.countDown();
				}
			}
		}
	}

	private static int indexOf(byte[] buffer, int length, byte[] marker) {
		outer:
		for (int i = 0; i + marker.length <= length; i++) {
			for (int j = 0; j < marker.length; j++) {
				if (buffer[i + j] != marker[j]) {
					continue outer;
				}
			}
			return i;
		}
		return -1;
	}

	private static void closeQuietly(Socket socket) {
		try {
			socket.close();
		}
		catch (IOException ignored) {
			// nothing to do
		}
	}

	/** One proxied connection: two pumps. */
	private final class Link {

		private final Socket client;

		private final Socket upstream;

		private volatile boolean closed;

		private volatile boolean lostBytes;

		Link(Socket client, Socket upstream) {
			this.client = client;
			this.upstream = upstream;
		}

		void start() {
			for (boolean request : List.of(true, false)) {
				Thread pump = new Thread(() -> pump(request),
						"faulty-proxy-" + port() + (request ? "-request-" : "-reply-") + this.client.getPort());
				pump.setDaemon(true);
				pump.start();
			}
		}

		private void pump(boolean request) {
			byte[] buffer = new byte[16 * 1024];
			try {
				InputStream in = (request ? this.client : this.upstream).getInputStream();
				OutputStream out = (request ? this.upstream : this.client).getOutputStream();
				while (awaitForwarding(this, request)) {
					int read = in.read(buffer);
					if (read < 0) {
						break;
					}
					if (request) {
						checkTrigger(buffer, read);
					}
					if (!awaitForwarding(this, request)) {
						break;
					}
					if (!request && FaultyProxy.this.mode == Mode.DROP_REPLIES) {
						this.lostBytes = true;
						continue;
					}
					out.write(buffer, 0, read);
					out.flush();
				}
			}
			catch (IOException ex) {
				// a side closed or reset: the whole link goes
			}
			finally {
				close();
			}
		}

		void close() {
			this.closed = true;
			closeQuietly(this.client);
			closeQuietly(this.upstream);
			FaultyProxy.this.links.remove(this);
			synchronized (FaultyProxy.this.modeLock) {
				FaultyProxy.this.modeLock.notifyAll();
			}
		}

	}

}
