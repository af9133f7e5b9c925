package io.leasehold.lock.test;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A TCP proxy in front of the test database that can stall the network: while frozen it keeps
 * every connection open but forwards no bytes, as a partitioned or frozen server would look to
 * a client. A node pointed at {@link #jdbcUrl()} reaches the database only through it.
 */
public final class FreezableTcpProxy implements AutoCloseable {

	private static final Pattern URL = Pattern.compile("jdbc:postgresql://([^/:?]+)(?::(\\d+))?(/.*)");

	private final ServerSocket server;

	private final String targetHost;

	private final int targetPort;

	private final String urlSuffix;

	private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();

	private final Object monitor = new Object();

	private volatile boolean frozen;

	private volatile boolean closed;

	private FreezableTcpProxy(String targetHost, int targetPort, String urlSuffix) throws IOException {
		this.targetHost = targetHost;
		this.targetPort = targetPort;
		this.urlSuffix = urlSuffix;
		this.server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
		daemon("proxy-accept", this::acceptLoop).start();
	}

	/** Starts a proxy in front of {@link TestDatabase}. */
	public static FreezableTcpProxy forTestDatabase() {
		Matcher matcher = URL.matcher(TestDatabase.get().jdbcUrl());
		if (!matcher.matches()) {
			throw new IllegalStateException("Cannot proxy " + TestDatabase.get().jdbcUrl());
		}
		try {
			return new FreezableTcpProxy(matcher.group(1),
					(matcher.group(2) != null) ? Integer.parseInt(matcher.group(2)) : 5432, matcher.group(3));
		}
		catch (IOException ex) {
			throw new UncheckedIOException(ex);
		}
	}

	/** The test database's JDBC URL, through this proxy. */
	public String jdbcUrl() {
		return "jdbc:postgresql://" + this.server.getInetAddress().getHostAddress() + ":" + this.server.getLocalPort()
				+ this.urlSuffix;
	}

	/** Stops forwarding bytes in both directions; connections stay open. */
	public void freeze() {
		this.frozen = true;
	}

	/** Forwards again, including what arrived while frozen. */
	public void thaw() {
		synchronized (this.monitor) {
			this.frozen = false;
			this.monitor.notifyAll();
		}
	}

	private void acceptLoop() {
		while (!this.closed) {
			try {
				Socket client = this.server.accept();
				Socket upstream = new Socket(this.targetHost, this.targetPort);
				this.sockets.add(client);
				this.sockets.add(upstream);
				daemon("proxy-up", () -> pump(client, upstream)).start();
				daemon("proxy-down", () -> pump(upstream, client)).start();
			}
			catch (IOException ex) {
				// closed, or the target refused: the client sees its connection fail
			}
		}
	}

	private void pump(Socket from, Socket to) {
		byte[] buffer = new byte[16384];
		try (from; to) {
			InputStream in = from.getInputStream();
			OutputStream out = to.getOutputStream();
			int read;
			while ((read = in.read(buffer)) != -1) {
				awaitThawed();
				out.write(buffer, 0, read);
				out.flush();
			}
		}
		catch (IOException | InterruptedException ex) {
			// one side closed
		}
		finally {
			this.sockets.remove(from);
			this.sockets.remove(to);
		}
	}

	private void awaitThawed() throws InterruptedException {
		synchronized (this.monitor) {
			while (this.frozen && !this.closed) {
				this.monitor.wait();
			}
		}
	}

	private static Thread daemon(String name, Runnable task) {
		Thread thread = new Thread(task, name);
		thread.setDaemon(true);
		return thread;
	}

	@Override
	public void close() {
		this.closed = true;
		thaw();
		try {
			this.server.close();
		}
		catch (IOException ex) {
			// closing anyway
		}
		for (Socket socket : this.sockets) {
			try {
				socket.close();
			}
			catch (IOException ex) {
				// closing anyway
			}
		}
	}

}
