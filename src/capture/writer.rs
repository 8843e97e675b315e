//! pcap/pcapng writer.
