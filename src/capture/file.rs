//! Streaming pcap/pcapng reader.
