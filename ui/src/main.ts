// The web UI's entry point (Vite bundles from here into ui/dist).
import './styles.css';
import './components/lattice-app.ts';
