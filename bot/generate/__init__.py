"""Optional generated answers: a configured model writes, every sentence is verified against its cited passage."""
